# cgparse.awk - reduce a callgrind output file (single event "Ir") to:
#   total <Ir>
#   self <object-path> <Ir>                   exclusive cost per ELF object
#   call <caller-fn> <callee-fn> <callee-object> <count> <Ir>
#                                             calls made by bench_* functions
# Fields are tab-separated (C++ names contain spaces).  Only what run.sh
# needs; handles callgrind's name compression "(id) name".

function name_of(kind, rest,    id, nm) {
	if (rest ~ /^\([0-9]+\)/) {
		id = rest; sub(/\).*/, "", id); sub(/^\(/, "", id)
		nm = rest; sub(/^\([0-9]+\) ?/, "", nm)
		if (nm != "") names[kind, id] = nm
		return names[kind, id]
	}
	return rest
}

BEGIN { OFS = "\t"; skip_next = 0 }

/^(summary|totals):/ { total = $2; next }
/^ob=/  { ob = name_of("ob", substr($0, 4)); cob = ob; next }
/^cob=/ { cob = name_of("ob", substr($0, 5)); next }
/^fn=/  { fn = name_of("fn", substr($0, 4)); cob = ob; next }
/^cfn=/ { cfn = name_of("fn", substr($0, 5)); next }
/^calls=/ {
	split(substr($0, 7), a, " "); ncalls = a[1]
	skip_next = 1; next
}
/^[0-9+*-]/ {
	cost = $NF
	if (skip_next) {
		skip_next = 0
		if (fn ~ /^bench_/) {
			ccount[fn SUBSEP cfn SUBSEP cob] += ncalls
			ccost[fn SUBSEP cfn SUBSEP cob] += cost
		}
		cob = ob
		next
	}
	self[ob] += cost
	next
}
END {
	print "total", total + 0
	for (o in self) print "self", o, self[o]
	for (k in ccost) {
		split(k, p, SUBSEP)
		print "call", p[1], p[2], p[3], ccount[k], ccost[k]
	}
}
