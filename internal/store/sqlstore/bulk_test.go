package sqlstore

import (
	"slices"
	"testing"
)

func TestBulkSizes(t *testing.T) {
	texts := map[int]bool{}
	for n := 0; n <= 1000; n++ {
		sizes := bulkSizes(n)
		sum := 0
		for _, size := range sizes {
			sum += size
			texts[size] = true
		}
		if sum != n {
			t.Fatalf("bulkSizes(%d) = %v: sums to %d", n, sizes, sum)
		}
		if !slices.IsSortedFunc(sizes, func(a, b int) int { return b - a }) {
			t.Fatalf("bulkSizes(%d) = %v: not largest first", n, sizes)
		}
	}
	// Every batch size is made of a few statement texts, each prepared once.
	if len(texts) != 8 {
		t.Fatalf("%d distinct statement sizes, want 8 (100 and the powers of two below it)", len(texts))
	}
}
