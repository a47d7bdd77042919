# plot.gp - bench/run's chart: per workload, each allocator's wall time
# divided by goalloc's (log scale; above 1 = goalloc faster).
#
#   gnuplot -e "datafile='bench/build/chart.dat'; outfile='docs/bench-chart.svg'; \
#               npeers=4; ymin=0.2; ymax=5; nrows=29" bench/plot.gp
#
# datafile: a header line "workload glibc jemalloc ...", then one line per
# workload: its label and one ratio per allocator ('?' = no result).
if (!exists("datafile")) datafile = 'bench/build/chart.dat'
if (!exists("outfile")) outfile = 'docs/bench-chart.svg'
if (!exists("npeers")) npeers = 4
if (!exists("ymin")) ymin = 0.25
if (!exists("ymax")) ymax = 4
if (!exists("nrows")) nrows = 30

set terminal svg size (nrows * 42 + 160), 560 dynamic enhanced font 'Helvetica,12' background rgb 'white'
set output outfile
set datafile missing '?'
set key autotitle columnhead
set title "Wall time relative to goalloc (allocator / goalloc, median; above 1: goalloc is faster)"
set logscale y 2
set yrange [ymin:ymax]
set ylabel "time / goalloc's time"
set grid ytics lc rgb '#dddddd'
set xrange [-0.6:nrows - 0.4]
set xtics rotate by -40 nomirror font ',11' scale 0
set key top left horizontal opaque box
set style fill solid 0.9 noborder
set arrow from graph 0, first 1 to graph 1, first 1 nohead lw 1.5 lc rgb '#333333' front
colors = "#4e79a7 #f28e2b #59a14f #e15759 #b07aa1 #76b7b2"
bw = 0.8 / npeers
xpos(i, j) = i - 0.4 + bw * (j - 0.5)
plot datafile using 0:(NaN):xtic(1) notitle, \
     for [j=1:npeers] datafile using (xpos($0, j)):(column(j + 1)):(xpos($0, j) - bw * 0.45):(xpos($0, j) + bw * 0.45):(1):(column(j + 1)) \
     with boxxyerrorbars lc rgb word(colors, j) title columnhead(j + 1)
