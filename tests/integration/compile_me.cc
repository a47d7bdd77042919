// C++ input for the 'gcc' and 'clang' integration tests (compiled, never run).
// Heavy on template instantiation, which keeps the front end allocating.
#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <numeric>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <unordered_map>
#include <variant>
#include <vector>

namespace integ {

using Value = std::variant<long, double, std::string, std::vector<long>>;

struct Visitor {
  std::string operator()(long v) const { return "long:" + std::to_string(v); }
  std::string operator()(double v) const { return "double:" + std::to_string(v); }
  std::string operator()(const std::string &v) const { return "string:" + v; }
  std::string operator()(const std::vector<long> &v) const {
    return "vector:" + std::to_string(std::accumulate(v.begin(), v.end(), 0L));
  }
};

template <typename K, typename V>
class LruCache {
 public:
  explicit LruCache(size_t cap) : cap_(cap) {}
  std::optional<V> get(const K &k) {
    auto it = index_.find(k);
    if (it == index_.end()) return std::nullopt;
    touch(k);
    return it->second;
  }
  void put(const K &k, V v) {
    index_[k] = std::move(v);
    touch(k);
    while (order_.size() > cap_) {
      index_.erase(order_.front());
      order_.erase(order_.begin());
    }
  }

 private:
  void touch(const K &k) {
    order_.erase(std::remove(order_.begin(), order_.end(), k), order_.end());
    order_.push_back(k);
  }
  size_t cap_;
  std::unordered_map<K, V> index_;
  std::vector<K> order_;
};

std::map<std::string, std::vector<std::string>> group_words(const std::string &text) {
  std::map<std::string, std::vector<std::string>> out;
  static const std::regex word_re(R"(([A-Za-z])([a-z]*))");
  for (auto it = std::sregex_iterator(text.begin(), text.end(), word_re); it != std::sregex_iterator(); ++it)
    out[(*it)[1].str()].push_back(it->str());
  for (auto &kv : out) std::sort(kv.second.begin(), kv.second.end());
  return out;
}

std::string describe(const std::vector<Value> &vals) {
  std::ostringstream os;
  for (const auto &v : vals) os << std::visit(Visitor{}, v) << ';';
  return os.str();
}

struct Shape {
  virtual ~Shape() = default;
  virtual double area() const = 0;
  virtual std::string name() const = 0;
};
struct Rect : Shape {
  double w, h;
  Rect(double w_, double h_) : w(w_), h(h_) {}
  double area() const override { return w * h; }
  std::string name() const override { return "rect"; }
};
struct Circle : Shape {
  double r;
  explicit Circle(double r_) : r(r_) {}
  double area() const override { return 3.14159265358979 * r * r; }
  std::string name() const override { return "circle"; }
};

std::vector<std::tuple<std::string, double, size_t>> summarize(const std::vector<std::unique_ptr<Shape>> &shapes) {
  std::map<std::string, std::pair<double, size_t>> acc;
  for (const auto &s : shapes) {
    auto &a = acc[s->name()];
    a.first += s->area();
    a.second++;
  }
  std::vector<std::tuple<std::string, double, size_t>> out;
  for (const auto &[k, v] : acc) out.emplace_back(k, v.first, v.second);
  std::sort(out.begin(), out.end(), [](const auto &a, const auto &b) { return std::get<1>(a) > std::get<1>(b); });
  return out;
}

long pipeline(const std::vector<long> &in) {
  std::vector<std::function<long(long)>> stages = {
      [](long x) { return x * 3; }, [](long x) { return x ^ (x >> 2); }, [](long x) { return x % 1000003; }};
  std::set<long> seen;
  long sum = 0;
  for (long x : in) {
    for (auto &f : stages) x = f(x);
    if (seen.insert(x).second) sum += x;
  }
  return sum;
}

template class LruCache<std::string, std::vector<int>>;
template class LruCache<long, std::string>;

}  // namespace integ
