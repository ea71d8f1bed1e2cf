package password

import (
	"context"
	"runtime"
	"testing"

	"golang.org/x/crypto/argon2"
)

// BenchmarkHashArgon2id is one bare hash at the default parameters, on one
// goroutine: the number the hash ceiling (cores ÷ hash time) is made of. A
// hasher keeping its memory (as each pool slot does) against fresh memory
// every time (the package function) and x/crypto's IDKey, which allocates
// too.
func BenchmarkHashArgon2id(b *testing.B) {
	const pw = "correct horse battery staple"
	b.Run("kept_memory", func(b *testing.B) {
		h := NewHasher(DefaultParams)
		b.ReportAllocs()
		for b.Loop() {
			h.HashArgon2id(pw, DefaultParams)
		}
	})
	b.Run("fresh_memory", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			HashArgon2id(pw, DefaultParams)
		}
	})
	b.Run("x_crypto", func(b *testing.B) {
		salt := make([]byte, DefaultParams.SaltLen)
		b.ReportAllocs()
		for b.Loop() {
			argon2.IDKey([]byte(pw), salt, DefaultParams.Time, DefaultParams.Memory, DefaultParams.Threads, DefaultParams.KeyLen)
		}
	})
}

// BenchmarkPoolHash drives the bounded pool from more goroutines than it
// has slots, as a burst of registrations does: throughput should match the
// bare ceiling, and memory stays at Size × m.
func BenchmarkPoolHash(b *testing.B) {
	pool := NewPool(PoolConfig{Params: DefaultParams, Size: runtime.GOMAXPROCS(0)}, nil)
	ctx := context.Background()
	b.SetParallelism(4)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := pool.Hash(ctx, Interactive, "correct horse battery staple"); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkVerifyImported is the cost of a first login with a password
// imported from another system, per format, at the cheapest parameters
// (real exports cost what their parameters say; this is the overhead of
// parsing and dispatch around the primitive).
func BenchmarkVerifyImported(b *testing.B) {
	for _, f := range Formats {
		encoded, err := EncodeCheap(f, "correct horse battery staple")
		if err != nil {
			b.Fatal(err)
		}
		b.Run(string(f), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if ok, err := Verify(encoded, "correct horse battery staple"); !ok || err != nil {
					b.Fatalf("verify: %v %v", ok, err)
				}
			}
		})
	}
}
