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

func TestCombinedSharesOfOnePart(t *testing.T) {
	// 32/s against a ceiling of 40/s is 80%; the run lost 20% of the
	// machine to steal and the ceiling 0%, so without steal it is 100%.
	r := benchResult{PerSecond: 32, Seconds: 3.125, Requests: 110, Errors: map[string]int{"503": 10}, ServerCPU: 5, Steal: 0.2}
	c := ceilingSample{PerSecond: 40, CPUPerHash: 0.045, Steal: 0}
	raw, stealFree, cpu := combinedShares([]benchResult{r}, []ceilingSample{c})
	if math.Abs(raw-0.8) > 1e-9 || math.Abs(stealFree-1.0) > 1e-9 {
		t.Errorf("raw %v, steal-free %v", raw, stealFree)
	}
	// 5 s of server CPU over 100 answered requests is 50 ms each.
	if math.Abs(cpu-0.9) > 1e-9 {
		t.Errorf("cpu share %v, want 0.9", cpu)
	}
	_, stealFree, cpu = combinedShares([]benchResult{{PerSecond: 1, Seconds: 1, Requests: 1, Steal: -1}}, []ceilingSample{c})
	if stealFree != -1 || cpu != -1 {
		t.Errorf("unknown steal or server CPU gave %v, %v", stealFree, cpu)
	}
	avg := averageCeilings(ceilingSample{PerSecond: 30, CPUPerHash: 0.05, Steal: 0.1}, ceilingSample{PerSecond: 40, CPUPerHash: 0.04, Steal: -1})
	if avg.PerSecond != 35 || math.Abs(avg.CPUPerHash-0.045) > 1e-9 || avg.Steal != -1 {
		t.Errorf("average %+v", avg)
	}
}

func TestCombinedShares(t *testing.T) {
	// Two parts of 10 s, each at 90% of the ceiling of its own time: the
	// ceiling fell from 50/s to 30/s between them. Against the average
	// ceiling of the whole run the answer would also be 90% here, but in
	// CPU each part is held to its own CPU per hash.
	parts := []benchResult{
		{Seconds: 10, Requests: 450, ServerCPU: 10, Steal: 0},
		{Seconds: 10, Requests: 270, ServerCPU: 10, Steal: 0.1},
	}
	ceilings := []ceilingSample{{PerSecond: 50, CPUPerHash: 0.036, Steal: 0}, {PerSecond: 30, CPUPerHash: 0.06, Steal: 0}}
	raw, stealFree, cpu := combinedShares(parts, ceilings)
	if math.Abs(raw-0.9) > 1e-9 {
		t.Errorf("raw %v, want 0.9", raw)
	}
	// Without steal the second part could have done 27/s: 720 of 770.
	if want := 720.0 / (500 + 270); math.Abs(stealFree-want) > 1e-9 {
		t.Errorf("steal-free %v, want %v", stealFree, want)
	}
	// 450×36 ms + 270×60 ms of bare hashing for 20 s of the server's CPU.
	if want := (450*0.036 + 270*0.06) / 20; math.Abs(cpu-want) > 1e-9 {
		t.Errorf("cpu %v, want %v", cpu, want)
	}
	m := meanCeiling(parts, ceilings)
	if math.Abs(m.PerSecond-40) > 1e-9 || math.Abs(m.Steal) > 1e-9 || math.Abs(m.CPUPerHash-(450*0.036+270*0.06)/720) > 1e-9 {
		t.Errorf("mean ceiling %+v", m)
	}

	// A part without steal or the server's CPU makes those comparisons
	// unknown, not partial.
	parts[1].Steal, parts[1].ServerCPU = -1, 0
	if _, stealFree, cpu = combinedShares(parts, ceilings); stealFree != -1 || cpu != -1 {
		t.Errorf("unknown parts gave %v, %v", stealFree, cpu)
	}
}
