#include "../gc.h"
