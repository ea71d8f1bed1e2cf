package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// machineTimes is the whole machine's CPU time from /proc/stat, in ticks:
// all of it, and the part a hypervisor ran other guests on our virtual
// cores ("steal"). On a shared virtual machine steal moves from one minute
// to the next (5% and 13% in two windows a minute apart here), and a hash
// ceiling measured in one window is only comparable with a run in another
// once each is seen against the CPU it was actually given.
type machineTimes struct {
	total, steal uint64
	ok           bool
}

func readMachineTimes() machineTimes {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return machineTimes{}
	}
	line, _, _ := strings.Cut(string(data), "\n")
	return parseMachineTimes(line)
}

// parseMachineTimes reads the "cpu" line of /proc/stat: user nice system
// idle iowait irq softirq steal, then guest times that user already counts.
func parseMachineTimes(line string) machineTimes {
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return machineTimes{}
	}
	var m machineTimes
	for i, s := range f[1:9] {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return machineTimes{}
		}
		m.total += v
		if i == 7 {
			m.steal = v
		}
	}
	m.ok = true
	return m
}

// stealShare is the share of the machine's time between a and b that the
// hypervisor kept for others, or -1 when /proc/stat could not be read.
func stealShare(a, b machineTimes) float64 {
	if !a.ok || !b.ok || b.total <= a.total {
		return -1
	}
	return float64(b.steal-a.steal) / float64(b.total-a.total)
}

// ceilingSample is one measurement of the bare hash ceiling.
type ceilingSample struct {
	PerSecond float64
	// CPUPerHash is the CPU seconds one hash took with every core hashing.
	CPUPerHash float64
	// Steal is the share of the machine the hypervisor kept meanwhile (-1
	// unknown).
	Steal float64
}

// averageCeilings combines the measurements before and after a run.
func averageCeilings(a, b ceilingSample) ceilingSample {
	avg := ceilingSample{PerSecond: (a.PerSecond + b.PerSecond) / 2, CPUPerHash: (a.CPUPerHash + b.CPUPerHash) / 2, Steal: -1}
	if a.Steal >= 0 && b.Steal >= 0 {
		avg.Steal = (a.Steal + b.Steal) / 2
	}
	return avg
}

// combinedShares compares a hash-bound run, made of one part or more, with
// the ceilings measured around each part, three ways: raw, the requests
// answered against those the ceilings would have allowed in each part's
// time; the same with each side's time counted without the share of the
// machine the hypervisor kept (steal; -1 when unknown); and the server's
// CPU against the bare hashes' CPU for the same requests, which no
// neighbour's load moves (-1 without the server's CPU).
func combinedShares(parts []benchResult, ceilings []ceilingSample) (raw, stealFree, cpu float64) {
	var ok, allowed, allowedStealFree, bareCPU, serverCPU float64
	stealKnown, cpuKnown := true, true
	for i, r := range parts {
		c := ceilings[i]
		n := float64(r.Requests - failedCount(r.Errors))
		ok += n
		allowed += r.Seconds * c.PerSecond
		if r.Steal >= 0 && c.Steal >= 0 {
			allowedStealFree += r.Seconds * c.PerSecond * (1 - r.Steal) / (1 - c.Steal)
		} else {
			stealKnown = false
		}
		if r.ServerCPU > 0 && c.CPUPerHash > 0 {
			bareCPU += n * c.CPUPerHash
			serverCPU += r.ServerCPU
		} else {
			cpuKnown = false
		}
	}
	raw, stealFree, cpu = -1, -1, -1
	if allowed > 0 {
		raw = ok / allowed
	}
	if stealKnown && allowedStealFree > 0 {
		stealFree = ok / allowedStealFree
	}
	if cpuKnown && serverCPU > 0 && ok > 0 {
		cpu = bareCPU / serverCPU
	}
	return raw, stealFree, cpu
}

// meanCeiling is the ceiling over a run of parts, each part's ceiling
// weighed by its time (its CPU per hash by its answered requests, as
// combinedShares does), for reporting.
func meanCeiling(parts []benchResult, ceilings []ceilingSample) ceilingSample {
	var seconds, perSecond, requests, cpu, steal float64
	for i, r := range parts {
		c := ceilings[i]
		seconds += r.Seconds
		perSecond += r.Seconds * c.PerSecond
		n := float64(max(r.Requests-failedCount(r.Errors), 1))
		requests += n
		cpu += n * c.CPUPerHash
		if steal >= 0 && c.Steal >= 0 {
			steal += r.Seconds * c.Steal
		} else {
			steal = -1
		}
	}
	m := ceilingSample{PerSecond: perSecond / seconds, CPUPerHash: cpu / requests, Steal: -1}
	if steal >= 0 {
		m.Steal = steal / seconds
	}
	return m
}

func cpuNote(cpu float64) string {
	if cpu < 0 {
		return ""
	}
	return fmt.Sprintf(", %.1f%% in CPU", 100*cpu)
}

// failedCount is the number of requests that did not succeed.
func failedCount(errs map[string]int) int {
	n := 0
	for _, v := range errs {
		n += v
	}
	return n
}
