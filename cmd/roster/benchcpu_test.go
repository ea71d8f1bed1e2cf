package main

import (
	"math"
	"testing"
)

func TestParseMachineTimes(t *testing.T) {
	// user nice system idle iowait irq softirq steal guest guest_nice
	m := parseMachineTimes("cpu  28979 0 4556 341199 597 0 414 8243 0 0")
	if !m.ok || m.total != 28979+4556+341199+597+414+8243 || m.steal != 8243 {
		t.Fatalf("parsed %+v", m)
	}
	for _, bad := range []string{"", "cpu0 1 2 3 4 5 6 7 8", "cpu 1 2 3", "cpu 1 2 3 4 5 6 7 x"} {
		if parseMachineTimes(bad).ok {
			t.Errorf("%q parsed", bad)
		}
	}
	a := machineTimes{total: 1000, steal: 100, ok: true}
	b := machineTimes{total: 2000, steal: 230, ok: true}
	if got := stealShare(a, b); math.Abs(got-0.13) > 1e-9 {
		t.Errorf("steal share %v, want 0.13", got)
	}
	if stealShare(a, machineTimes{}) != -1 || stealShare(b, a) != -1 {
		t.Error("an unreadable or backwards pair gave a share")
	}
}

func TestCeilingShares(t *testing.T) {
	// 32/s against a ceiling of 40/s is 80%; the run lost 20% of the
	// machine to steal and the ceiling 0%, so without steal it is 100%.
	r := benchResult{PerSecond: 32, Requests: 110, Errors: map[string]int{"503": 10}, ServerCPU: 5, Steal: 0.2}
	c := ceilingSample{PerSecond: 40, CPUPerHash: 0.045, Steal: 0}
	raw, stealFree, cpu := ceilingShares(r, c)
	if math.Abs(raw-0.8) > 1e-9 || math.Abs(stealFree-1.0) > 1e-9 {
		t.Errorf("raw %v, steal-free %v", raw, stealFree)
	}
	// 5 s of server CPU over 100 answered requests is 50 ms each.
	if math.Abs(cpu-0.9) > 1e-9 {
		t.Errorf("cpu share %v, want 0.9", cpu)
	}
	_, stealFree, cpu = ceilingShares(benchResult{PerSecond: 1, Steal: -1}, c)
	if stealFree != -1 || cpu != -1 {
		t.Errorf("unknown steal or server CPU gave %v, %v", stealFree, cpu)
	}
	avg := averageCeilings(ceilingSample{PerSecond: 30, CPUPerHash: 0.05, Steal: 0.1}, ceilingSample{PerSecond: 40, CPUPerHash: 0.04, Steal: -1})
	if avg.PerSecond != 35 || math.Abs(avg.CPUPerHash-0.045) > 1e-9 || avg.Steal != -1 {
		t.Errorf("average %+v", avg)
	}
}
