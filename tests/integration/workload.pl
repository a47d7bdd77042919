#!/usr/bin/perl
# Workload for the 'perl' integration test: hashes, strings, regexes, sorting,
# nested data, closures. Debian's perl uses the system malloc. Output must be
# identical between runs, so hash contents are always printed in sorted order.
use strict;
use warnings;

my $seed = 42;
sub rnd { $seed = ($seed * 1103515245 + 12345) % 2147483648; return $seed }
sub word { my $n = 2 + rnd() % 9; join '', map { chr(97 + rnd() % 26) } 1 .. $n }

# --- hashes: word frequencies, deletes, re-inserts
my %freq;
my @words = map { word() } 1 .. 200_000;
$freq{$_}++ for @words;
printf "distinct words: %d of %d\n", scalar(keys %freq), scalar(@words);
my @top = (sort { $freq{$b} <=> $freq{$a} || $a cmp $b } keys %freq)[0 .. 19];
printf "%-12s %d\n", $_, $freq{$_} for @top;
delete @freq{grep { length($_) > 6 } keys %freq};
printf "after delete: %d\n", scalar(keys %freq);
$freq{ uc $_ } = length $_ for @words[0 .. 49_999];
printf "after upper: %d, sum %d\n", scalar(keys %freq), eval { my $s = 0; $s += $_ for values %freq; $s };

# --- nested structures: hash of arrays of hashes
my %db;
for my $i (1 .. 30_000) {
    my $k = 'group' . (rnd() % 300);
    push @{ $db{$k} }, { id => $i, name => word(), score => rnd() % 1000, tags => [ map { word() } 1 .. rnd() % 4 ] };
}
for my $k ((sort keys %db)[0 .. 9]) {
    my @r = sort { $b->{score} <=> $a->{score} || $a->{id} <=> $b->{id} } @{ $db{$k} };
    my $tags = 0; $tags += @{ $_->{tags} } for @r;
    printf "%s: %d rows, best %s(%d), tags %d\n", $k, scalar @r, $r[0]{name}, $r[0]{score}, $tags;
}

# --- string building: join, repetition, sprintf, substr, reverse, growing buffers
my $buf = '';
for my $i (1 .. 50_000) {
    $buf .= sprintf('%05d:%s;', $i, word());
    substr($buf, -3, 1) = uc substr($buf, -3, 1) if $i % 7 == 0;
}
printf "buffer length %d, checksum %d\n", length $buf, unpack('%32C*', $buf);
my $big = join '|', map { scalar reverse $_ } split /;/, $buf;
printf "reversed length %d, first %s\n", length $big, substr($big, 0, 40);
my $rep = ('abc' x 100_000) . ('xyz' x 50_000);
(my $t = $rep) =~ tr/a-c/A-C/;
printf "tr count %d, index %d\n", ($t =~ tr/A//), index($t, 'xyz');

# --- regexes: captures, global matches, substitutions with code, split
my $text = join ' ', @words[0 .. 40_000];
my @caps = $text =~ /\b([a-e])(\w*)([x-z])\b/g;
printf "captures: %d\n", scalar @caps;
my %by_first;
while ($text =~ /\b(\w)(\w+)\b/g) { $by_first{$1} += length $2 }
print join(',', map { "$_=$by_first{$_}" } sort keys %by_first), "\n";
(my $sub = $text) =~ s/\b(\w)(\w*)\b/\u$1\L$2/g;
printf "title case: %s...\n", substr($sub, 0, 60);
(my $sub2 = $text) =~ s/([aeiou])\1/'<' . ord($1) . '>'/ge;
printf "doubled vowels replaced: %d chars\n", length $sub2;
my @fields = split /[aeiou]+/, $text;
printf "split fields: %d\n", scalar @fields;
my $re = qr/^(?:(?<pre>[bcd])|(?<alt>[xyz]))(?<rest>.*)$/;
my %named;
for my $w (@words[0 .. 20_000]) { $named{ $+{pre} // $+{alt} } .= length $+{rest} if $w =~ $re }
print map({ sprintf "%s:%d ", $_, length $named{$_} } sort keys %named), "\n";

# --- sorting: numeric, string, Schwartzian transform, stable multi-key
my @nums = map { rnd() % 1_000_000 } 1 .. 100_000;
my @sn = sort { $a <=> $b } @nums;
printf "min %d max %d median %d\n", $sn[0], $sn[-1], $sn[@sn / 2];
my @st = map { $_->[1] } sort { $a->[0] <=> $b->[0] or $a->[1] cmp $b->[1] }
         map { [ length($_), $_ ] } @words[0 .. 50_000];
printf "schwartz: %s .. %s\n", join(',', @st[0 .. 4]), join(',', @st[-5 .. -1]);
my @rs = reverse sort @words[0 .. 30_000];
printf "reverse sorted head: %s\n", join ' ', @rs[0 .. 5];

# --- closures and recursion
my @counters = map { my $n = $_; sub { $n += $_[0]; $n } } 1 .. 1000;
my $acc = 0; $acc += $_->(3) for @counters; $acc += $_->(5) for @counters;
print "closures: $acc\n";
my %memo;
my $fib; $fib = sub { my $n = shift; return $n if $n < 2; $memo{$n} //= $fib->($n - 1) + $fib->($n - 2) };
printf "fib(90) = %s\n", $fib->(90);
sub tree { my $d = shift; return $d == 0 ? [] : [ tree($d - 1), tree($d - 1) ] }
sub count { my $t = shift; my $c = 1; $c += count($_) for @$t; $c }
printf "tree nodes: %d\n", count(tree(16));

# --- pack/unpack and sprintf formats
my $packed = pack('N*', @nums[0 .. 9999]);
my @back = unpack('N*', $packed);
printf "pack roundtrip ok: %d, bytes %d\n", (join(',', @back) eq join(',', @nums[0 .. 9999])) ? 1 : 0, length $packed;
printf "%s\n", join ' ', map { sprintf '%08.3f|%-6s|%x', $_ / 7, word(), $_ } @nums[0 .. 7];

# --- local arrays that grow and shrink
my @queue;
for my $i (1 .. 200_000) {
    push @queue, [ $i, word() ];
    shift @queue if @queue > 1000 && $i % 3;
    splice(@queue, rnd() % @queue, 1) if $i % 11 == 0;
}
printf "queue: %d, last %s\n", scalar @queue, $queue[-1][1];
printf "hash in list context: %d pairs\n", scalar(my @pairs = %freq) / 2;
print "done\n";
