package password

// SHA-crypt ($5$ sha256-crypt and $6$ sha512-crypt), written from Ulrich
// Drepper's public specification "Unix crypt using SHA-256 and SHA-512".
//
// Only verification is needed (imported hashes); this file computes the
// crypt-base64 encoded digest for a given password, salt and round count.

import (
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"hash"
)

const (
	shaCryptRoundsDefault = 5000
	shaCryptRoundsMin     = 1000
	shaCryptRoundsMax     = 999999999
	shaCryptSaltMax       = 16

	// shaCryptPasswordMax bounds the password length accepted for SHA-crypt
	// verification. Step 13-15 of the algorithm hash the password len(pw)
	// times, so the cost is quadratic in the password length; without a
	// bound a single login request could burn minutes of CPU. (passlib uses
	// the same 4096-byte limit.)
	shaCryptPasswordMax = 4096
)

var errShaCryptPasswordTooLong = errors.New("password: a password this long cannot be checked against a sha-crypt hash of so many " +
	"rounds (at most 4096 bytes, and rounds × (length + 64) at most 640,000,000)")

// cryptAlphabet is the alphabet of crypt's own base64 variant: six-bit
// groups are emitted least significant first.
const cryptAlphabet = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// Byte order in which the final digest is emitted, as triples (b2, b1, b0)
// each turned into four characters of crypt-base64; the trailing bytes are
// handled by shaCryptEncode.
var sha256CryptOrder = [10][3]int{
	{0, 10, 20}, {21, 1, 11}, {12, 22, 2}, {3, 13, 23}, {24, 4, 14},
	{15, 25, 5}, {6, 16, 26}, {27, 7, 17}, {18, 28, 8}, {9, 19, 29},
}

var sha512CryptOrder = [21][3]int{
	{0, 21, 42}, {22, 43, 1}, {44, 2, 23}, {3, 24, 45}, {25, 46, 4},
	{47, 5, 26}, {6, 27, 48}, {28, 49, 7}, {50, 8, 29}, {9, 30, 51},
	{31, 52, 10}, {53, 11, 32}, {12, 33, 54}, {34, 55, 13}, {56, 14, 35},
	{15, 36, 57}, {37, 58, 16}, {59, 17, 38}, {18, 39, 60}, {40, 61, 19},
	{62, 20, 41},
}

// shaCryptEncodedLen is the length of the encoded digest: 43 characters for
// sha256-crypt, 86 for sha512-crypt.
func shaCryptEncodedLen(f Format) int {
	if f == FormatSHA512Crypt {
		return 86
	}
	return 43
}

// cryptB64Append appends n characters encoding the low 6*n bits of w, least
// significant six bits first.
func cryptB64Append(dst []byte, w uint32, n int) []byte {
	for ; n > 0; n-- {
		dst = append(dst, cryptAlphabet[w&0x3f])
		w >>= 6
	}
	return dst
}

// shaCryptEncode applies the specification's byte permutation and crypt
// base64 encoding to the final digest.
func shaCryptEncode(f Format, sum []byte) string {
	out := make([]byte, 0, shaCryptEncodedLen(f))
	tri := func(b2, b1, b0 byte, n int) {
		out = cryptB64Append(out, uint32(b2)<<16|uint32(b1)<<8|uint32(b0), n)
	}
	if f == FormatSHA512Crypt {
		for _, g := range sha512CryptOrder {
			tri(sum[g[0]], sum[g[1]], sum[g[2]], 4)
		}
		tri(0, 0, sum[63], 2)
	} else {
		for _, g := range sha256CryptOrder {
			tri(sum[g[0]], sum[g[1]], sum[g[2]], 4)
		}
		tri(0, sum[31], sum[30], 3)
	}
	return string(out)
}

// shaCrypt computes the encoded digest (the part after the last '$') for
// password, salt (at most 16 bytes; longer salts are truncated as the
// specification requires) and rounds (already validated by the caller).
func shaCrypt(f Format, password, salt []byte, rounds int) string {
	var newHash func() hash.Hash
	if f == FormatSHA512Crypt {
		newHash = sha512.New
	} else {
		newHash = sha256.New
	}
	if len(salt) > shaCryptSaltMax {
		salt = salt[:shaCryptSaltMax]
	}

	// Digest B: password, salt, password.
	hb := newHash()
	hb.Write(password)
	hb.Write(salt)
	hb.Write(password)
	sumB := hb.Sum(nil)
	size := len(sumB)

	// Digest A: password, salt, then len(password) bytes of B (whole B
	// blocks, then the leading remainder), then for every bit of
	// len(password) from the lowest up: B for a one bit, password for zero.
	ha := newHash()
	ha.Write(password)
	ha.Write(salt)
	n := len(password)
	for ; n > size; n -= size {
		ha.Write(sumB)
	}
	ha.Write(sumB[:n])
	for n = len(password); n > 0; n >>= 1 {
		if n&1 != 0 {
			ha.Write(sumB)
		} else {
			ha.Write(password)
		}
	}
	sumA := ha.Sum(nil)

	// Digest DP: the password len(password) times; P is the first
	// len(password) bytes of DP repeated.
	hdp := newHash()
	for range len(password) {
		hdp.Write(password)
	}
	seqP := repeatDigest(hdp.Sum(nil), len(password))

	// Digest DS: the salt 16+A[0] times; S is the first len(salt) bytes of DS
	// repeated.
	hds := newHash()
	for range 16 + int(sumA[0]) {
		hds.Write(salt)
	}
	seqS := repeatDigest(hds.Sum(nil), len(salt))

	// The rounds: each round's input depends on the parity of the round
	// number and whether it is divisible by 3 and by 7.
	prev := sumA
	h := newHash()
	buf := make([]byte, 0, size)
	for i := range rounds {
		h.Reset()
		if i&1 != 0 {
			h.Write(seqP)
		} else {
			h.Write(prev)
		}
		if i%3 != 0 {
			h.Write(seqS)
		}
		if i%7 != 0 {
			h.Write(seqP)
		}
		if i&1 != 0 {
			h.Write(prev)
		} else {
			h.Write(seqP)
		}
		buf = h.Sum(buf[:0])
		prev, buf = buf, prev
	}
	return shaCryptEncode(f, prev)
}

// repeatDigest returns n bytes consisting of sum repeated (whole copies then
// the leading remainder).
func repeatDigest(sum []byte, n int) []byte {
	out := make([]byte, n)
	for i := 0; i < n; i += len(sum) {
		copy(out[i:], sum)
	}
	return out
}
