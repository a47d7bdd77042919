# cglines.awk - exclusive Ir per source line from a callgrind output file
# (default "positions: line", single event).  Prints "file<TAB>line<TAB>Ir".
# Files are tracked through fl= (function's file) and fi=/fe= (inlined
# code); line numbers may be relative (+n, -n) or repeated (*).

function name_of(rest,    id, nm) {
	if (rest ~ /^\([0-9]+\)/) {
		id = rest; sub(/\).*/, "", id); sub(/^\(/, "", id)
		nm = rest; sub(/^\([0-9]+\) ?/, "", nm)
		if (nm != "") files[id] = nm
		return files[id]
	}
	return rest
}

BEGIN { OFS = "\t" }
/^fl=/ { fl = name_of(substr($0, 4)); cur = fl; next }
/^(fi|fe)=/ { cur = name_of(substr($0, 4)); next }
/^(cfi|cfl)=/ { name_of(substr($0, 5)); next }
/^fn=/ { cur = fl; next }
/^calls=/ { skip = 1; next }
/^[0-9+*-]/ {
	p = $1
	if (p == "*") line = last
	else if (p ~ /^[+-]/) line = last + p
	else line = p
	last = line
	if (skip) { skip = 0; next }
	cost[cur SUBSEP line] += $NF
	next
}
END { for (k in cost) { split(k, a, SUBSEP); print a[1], a[2], cost[k] } }
