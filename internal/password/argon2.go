package password

// Argon2 (RFC 9106), both types roster verifies (argon2i, argon2id) and both
// versions (0x10, 0x13), computed in memory the caller may keep between
// hashes.
//
// golang.org/x/crypto/argon2 allocates its whole memory parameter for every
// hash and relies on the runtime zeroing it (its first pass XORs into the
// blocks). At 19 MiB that is 2.5 ms of a 40 ms hash here, half of it
// zeroing and half the collections the garbage brings; a server hashing on
// every core pays it on every register and login. Here the first pass
// overwrites each block, as the specification has it, so memory from an
// earlier hash is used as it is. x/crypto/argon2 also computes only version
// 0x13; version 0x10 differs in the version fed into H0 and in later passes
// overwriting blocks instead of XOR-ing into them.
//
// The compression function G is x/crypto's own (SSE4.1 on amd64, reached
// through go:linkname, as no API exposes it): the tests compare every type,
// version, lane count and memory size with x/crypto's results and the
// reference implementation's vectors, so a change of x/crypto that broke
// the link fails them.

import (
	"encoding/binary"
	"hash"
	_ "unsafe" // go:linkname

	_ "golang.org/x/crypto/argon2" // the compression function below
	"golang.org/x/crypto/blake2b"
)

const (
	argon2TypeI        = 1
	argon2TypeID       = 2
	argon2SyncPoints   = 4
	argon2BlockWords   = 128 // 1 KiB blocks of 64-bit words
	argon2AddrPerBlock = argon2BlockWords
)

// argon2Block has the layout of x/crypto/argon2's block.
type argon2Block [argon2BlockWords]uint64

// argon2G sets out to G(x, y); out may alias x.
//
//go:linkname argon2G golang.org/x/crypto/argon2.processBlock
func argon2G(out, x, y *argon2Block)

// argon2GXor XORs G(x, y) into out.
//
//go:linkname argon2GXor golang.org/x/crypto/argon2.processBlockXOR
func argon2GXor(out, x, y *argon2Block)

// argon2Blocks is the number of blocks argon2 fills for a memory parameter
// of memory KiB and lanes lanes: a multiple of 4 per lane, 8 per lane at
// least.
func argon2Blocks(memory uint32, lanes uint8) uint32 {
	per := argon2SyncPoints * uint32(lanes)
	return max(memory/per*per, 2*per)
}

// Hasher computes password hashes, keeping the memory of its argon2 hashes
// for the next. A Hasher is not safe for concurrent use; the pool gives one
// to each slot, and drops their memory when it has been idle a while.
type Hasher struct {
	mem []argon2Block
	// keep is the largest memory, in blocks, the hasher keeps; larger
	// hashes (an imported hash's parameters) allocate their own.
	keep uint32
	// fresh reports whether the last call allocated memory of its own,
	// which stays in the heap until a collection.
	fresh bool
}

// NewHasher returns a hasher that keeps memory for hashes of up to p's.
func NewHasher(p Params) *Hasher {
	p = fillArgon2Defaults(p)
	return &Hasher{keep: argon2Blocks(p.Memory, p.Threads)}
}

// memory returns n blocks, of the kept memory where they fit.
func (h *Hasher) memory(n uint32) []argon2Block {
	if uint32(len(h.mem)) >= n {
		h.fresh = false
		return h.mem[:n]
	}
	h.fresh = true
	if n > h.keep {
		return make([]argon2Block, n)
	}
	// Kept at the largest size it keeps, so that hashes of every size up
	// to it share one allocation.
	h.mem = make([]argon2Block, h.keep)
	return h.mem[:n]
}

// drop lets the collector have the kept memory.
func (h *Hasher) drop() { h.mem = nil }

// argon2Key derives an argon2 key of type mode and version 0x10 or 0x13,
// with no secret and no associated data, in the hasher's memory.
func (h *Hasher) argon2Key(mode, version uint32, password, salt []byte, time, memory uint32, lanes uint8, keyLen uint32) []byte {
	return argon2Fill(h.memory(argon2Blocks(memory, lanes)), mode, version, password, salt, time, memory, uint32(lanes), keyLen)
}

// argon2Fill computes the key in mem, whose blocks it writes before it
// reads them, so their earlier content does not matter. The lanes are
// computed one after the other on the calling goroutine: a hash takes one
// core, as the pool counts it.
func argon2Fill(mem []argon2Block, mode, version uint32, password, salt []byte, time, memory, lanes, keyLen uint32) []byte {
	blocks := uint32(len(mem))
	laneLen := blocks / lanes
	segLen := laneLen / argon2SyncPoints

	// H0 over the parameters and inputs.
	h0h, _ := blake2b.New512(nil)
	var w4 [4]byte
	put32 := func(h hash.Hash, v uint32) {
		binary.LittleEndian.PutUint32(w4[:], v)
		h.Write(w4[:])
	}
	put32(h0h, lanes)
	put32(h0h, keyLen)
	put32(h0h, memory)
	put32(h0h, time)
	put32(h0h, version)
	put32(h0h, mode)
	put32(h0h, uint32(len(password)))
	h0h.Write(password)
	put32(h0h, uint32(len(salt)))
	h0h.Write(salt)
	put32(h0h, 0) // secret
	put32(h0h, 0) // associated data
	var seed [blake2b.Size + 8]byte
	h0h.Sum(seed[:0])

	var buf [argon2BlockWords * 8]byte
	for lane := range lanes {
		for j := range uint32(2) {
			binary.LittleEndian.PutUint32(seed[blake2b.Size:], j)
			binary.LittleEndian.PutUint32(seed[blake2b.Size+4:], lane)
			argon2HashLong(buf[:], seed[:])
			b := &mem[lane*laneLen+j]
			for k := range b {
				b[k] = binary.LittleEndian.Uint64(buf[8*k:])
			}
		}
	}

	var zero, input, addr argon2Block
	for pass := range time {
		for slice := range uint32(argon2SyncPoints) {
			// argon2i takes every reference from a pseudo-random stream;
			// argon2id only in the first half of the first pass, and from
			// the previous block's first word after that.
			independent := mode == argon2TypeI || (pass == 0 && slice < argon2SyncPoints/2)
			for lane := range lanes {
				input = argon2Block{}
				input[0] = uint64(pass)
				input[1] = uint64(lane)
				input[2] = uint64(slice)
				input[3] = uint64(blocks)
				input[4] = uint64(time)
				input[5] = uint64(mode)
				nextAddresses := func() {
					input[6]++
					argon2G(&addr, &input, &zero)
					argon2G(&addr, &addr, &zero)
				}
				start := uint32(0)
				if pass == 0 && slice == 0 {
					start = 2 // the first two blocks of each lane come from H0
					if independent {
						nextAddresses()
					}
				}
				for i := start; i < segLen; i++ {
					cur := lane*laneLen + slice*segLen + i
					prev := cur - 1
					if cur%laneLen == 0 {
						prev = cur + laneLen - 1
					}
					var rnd uint64
					if independent {
						if i%argon2AddrPerBlock == 0 {
							nextAddresses()
						}
						rnd = addr[i%argon2AddrPerBlock]
					} else {
						rnd = mem[prev][0]
					}
					refLane := uint32(rnd>>32) % lanes
					if pass == 0 && slice == 0 {
						refLane = lane
					}
					ref := refLane*laneLen +
						argon2RefIndex(pass, slice, i, segLen, laneLen, refLane == lane, uint32(rnd))
					if version == 0x13 && pass > 0 {
						argon2GXor(&mem[cur], &mem[prev], &mem[ref])
					} else {
						argon2G(&mem[cur], &mem[prev], &mem[ref])
					}
				}
			}
		}
	}

	final := mem[laneLen-1]
	for lane := uint32(1); lane < lanes; lane++ {
		last := &mem[lane*laneLen+laneLen-1]
		for k := range final {
			final[k] ^= last[k]
		}
	}
	for k, v := range final {
		binary.LittleEndian.PutUint64(buf[8*k:], v)
	}
	out := make([]byte, keyLen)
	argon2HashLong(out, buf[:])
	return out
}

// argon2RefIndex maps the pseudo-random J1 to a block index within the
// reference lane, over the set of blocks the current block may reference.
func argon2RefIndex(pass, slice, index, segLen, laneLen uint32, sameLane bool, j1 uint32) uint32 {
	var area uint32
	switch {
	case pass == 0 && slice == 0:
		area = index - 1
	case pass == 0 && sameLane:
		area = slice*segLen + index - 1
	case pass == 0:
		area = slice * segLen
		if index == 0 {
			area--
		}
	case sameLane:
		area = laneLen - segLen + index - 1
	default:
		area = laneLen - segLen
		if index == 0 {
			area--
		}
	}
	x := uint64(j1)
	x = x * x >> 32
	rel := uint64(area) - 1 - (uint64(area) * x >> 32)
	var startPos uint64
	if pass != 0 && slice != argon2SyncPoints-1 {
		startPos = uint64(slice+1) * uint64(segLen)
	}
	return uint32((startPos + rel) % uint64(laneLen))
}

// argon2HashLong is the variable-length hash H' of the Argon2 specification.
func argon2HashLong(out, in []byte) {
	var w4 [4]byte
	binary.LittleEndian.PutUint32(w4[:], uint32(len(out)))
	if len(out) <= blake2b.Size {
		h, _ := blake2b.New(len(out), nil)
		h.Write(w4[:])
		h.Write(in)
		h.Sum(out[:0])
		return
	}
	h, _ := blake2b.New512(nil)
	h.Write(w4[:])
	h.Write(in)
	var v [blake2b.Size]byte
	h.Sum(v[:0])
	copy(out, v[:32])
	pos := 32
	for len(out)-pos > blake2b.Size {
		v = blake2b.Sum512(v[:])
		copy(out[pos:], v[:32])
		pos += 32
	}
	last, _ := blake2b.New(len(out)-pos, nil)
	last.Write(v[:])
	last.Sum(out[pos:pos])
}
