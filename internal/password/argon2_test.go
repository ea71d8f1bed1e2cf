package password

import (
	"bytes"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/crypto/argon2"
)

// The package's argon2 must agree with x/crypto for version 0x13, for both
// types, over parameters covering several lanes, memory rounding, more than
// one address block per segment, several passes and long tags. One hasher
// computes them all in turn, so every case after the first runs in memory
// an earlier one left full of its own blocks.
func TestArgon2MatchesXCrypto(t *testing.T) {
	cases := []struct {
		m, t   uint32
		p      uint8
		keyLen uint32
	}{
		{2048, 1, 2, 32}, // segments of 256 blocks: two address blocks each
		{64, 1, 1, 32},
		{64, 3, 1, 16},
		{96, 2, 3, 32},  // 96 is not a multiple of 4*3 lanes' worth: rounded down
		{200, 3, 4, 64}, // 4 lanes, 3 passes
		{1024, 2, 1, 100},
		{8, 1, 1, 128},
		{1500, 2, 1, 32},
		{2048, 3, 1, 32},
	}
	h := NewHasher(Params{Memory: 2048, Threads: 1})
	for _, c := range cases {
		for _, mode := range []uint32{argon2TypeI, argon2TypeID} {
			pw, salt := []byte("pass"+fmt.Sprint(c.m)), testSalt(8+int(c.p))
			want := argon2.Key(pw, salt, c.t, c.m, c.p, c.keyLen)
			if mode == argon2TypeID {
				want = argon2.IDKey(pw, salt, c.t, c.m, c.p, c.keyLen)
			}
			if got := h.argon2Key(mode, 0x13, pw, salt, c.t, c.m, c.p, c.keyLen); !bytes.Equal(got, want) {
				t.Errorf("type %d m=%d t=%d p=%d l=%d: own = %x, x/crypto = %x", mode, c.m, c.t, c.p, c.keyLen, got, want)
			}
			if got := new(Hasher).argon2Key(mode, 0x13, pw, salt, c.t, c.m, c.p, c.keyLen); !bytes.Equal(got, want) {
				t.Errorf("type %d m=%d t=%d p=%d l=%d, fresh memory: own = %x, x/crypto = %x", mode, c.m, c.t, c.p, c.keyLen, got, want)
			}
		}
	}
}

// A hasher keeps the memory of hashes up to its parameters and uses it
// again; larger ones allocate their own, and leave the kept memory alone.
func TestHasherKeepsItsMemory(t *testing.T) {
	params := Params{Memory: 4096, Time: 1, Threads: 1}
	h := NewHasher(params)
	first := h.HashArgon2id(testPassword, params)
	if !h.fresh {
		t.Fatal("the first hash did not allocate")
	}
	kept := &h.mem[0]
	if len(h.mem) != 4096 {
		t.Fatalf("kept %d blocks", len(h.mem))
	}

	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	second := h.HashArgon2id(testPassword, params)
	runtime.ReadMemStats(&after)
	if h.fresh {
		t.Error("a second hash at the same parameters allocated")
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 64<<10 {
		t.Errorf("a hash in kept memory allocated %d bytes", grew)
	}
	if first == second {
		t.Error("two hashes share a salt")
	}
	for _, enc := range []string{first, second} {
		if ok, err := h.Verify(enc, testPassword); !ok || err != nil || h.fresh {
			t.Errorf("verify in kept memory: %v %v (allocated: %v)", ok, err, h.fresh)
		}
		if ok, err := h.Verify(enc, wrongPassword); ok || err != nil {
			t.Errorf("wrong password verified: %v %v", ok, err)
		}
	}

	// Smaller hashes use a part of it.
	small := HashArgon2id(testPassword, Params{Memory: 64, Time: 1, Threads: 1})
	if ok, err := h.Verify(small, testPassword); !ok || err != nil || h.fresh {
		t.Errorf("smaller hash: %v %v (allocated: %v)", ok, err, h.fresh)
	}
	// A larger one, an imported hash's, allocates and is not kept.
	large := HashArgon2id(testPassword, Params{Memory: 8192, Time: 1, Threads: 1})
	if ok, err := h.Verify(large, testPassword); !ok || err != nil || !h.fresh {
		t.Errorf("larger hash: %v %v (allocated: %v)", ok, err, h.fresh)
	}
	if &h.mem[0] != kept {
		t.Error("a larger hash replaced the kept memory")
	}
	h.drop()
	h.HashArgon2id(testPassword, params)
	if !h.fresh || len(h.mem) != 4096 {
		t.Errorf("a hash after drop: allocated %v, kept %d blocks", h.fresh, len(h.mem))
	}
	// Other formats are counted as allocating.
	bc, _ := EncodeCheap(FormatBcrypt, testPassword)
	if ok, err := h.Verify(bc, testPassword); !ok || err != nil || !h.fresh {
		t.Errorf("bcrypt: %v %v (allocated: %v)", ok, err, h.fresh)
	}
	if _, err := h.Verify("$argon2id$nonsense", testPassword); err == nil || !strings.Contains(err.Error(), "argon2id") {
		t.Errorf("malformed: %v", err)
	}
}
