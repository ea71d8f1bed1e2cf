package password

// Password hash formats roster can verify, so users can be imported from
// other systems with their existing hashes. New hashes are always argon2id
// (HashArgon2id); every other format is verify-only, and NeedsRehash tells
// the caller to replace it after the next successful login.
//
// Supported encodings ("b64" is standard base64, RFC 4648 alphabet, without
// padding; padding is accepted when decoding):
//
//   - argon2id: $argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt b64>$<hash b64>
//     The PHC string of the reference implementation. v=19 (0x13) is
//     required.
//
//   - argon2i: $argon2i$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt b64>$<hash b64>
//     Also $argon2i$m=...,t=...,p=...$<salt>$<hash> (no v= field) and v=16,
//     both meaning version 0x10, the reference implementation's convention
//     for strings written before version 1.3. Both versions, and argon2id,
//     are computed by argon2.go.
//     Bounds: 8*p <= m <= 256 MiB, t >= 1, m*t <= 2^20 (KiB × passes),
//     1 <= p <= 255, salt 8..1024 bytes, hash 16..128 bytes. The parameters
//     must appear as m, t, p in that order; keyid= and data= are refused.
//
//   - bcrypt: $2a$<cost>$<22 char salt><31 char hash>, also $2b$ and $2y$
//     (bcrypt's own base64 alphabet ./A-Za-z0-9), cost two digits, 4..15.
//     60 characters in all. $2$ and $2x$ (the crypt_blowfish sign-extension
//     bug) are refused. As everywhere, only the first 72 password bytes
//     count.
//
//   - scrypt: $scrypt$ln=<log2 N>,r=<r>,p=<p>$<salt b64>$<hash b64>
//     The PHC form, which is also what passlib writes. Bounds so that an
//     imported hash cannot exhaust memory or CPU: 1 <= ln <= 20, r >= 1,
//     p >= 1, 128*r*N <= 256 MiB, N*r*p <= 2^22, salt 1..1024 bytes, hash
//     16..128 bytes. The $7$ form (libsodium's crypt-style scrypt) is not
//     supported.
//
//   - pbkdf2-sha256 / pbkdf2-sha512 (HMAC-SHA-256 / HMAC-SHA-512), in three
//     spellings:
//     PHC:     $pbkdf2-sha256$i=<iterations>[,l=<key bytes>]$<salt b64>$<hash b64>
//     passlib: $pbkdf2-sha256$<iterations>$<salt ab64>$<hash ab64>
//     ("adapted base64": the standard alphabet with '.' for '+', no
//     padding; '+' is accepted too, as passlib's decoder does)
//     Django:  pbkdf2_sha256$<iterations>$<salt>$<hash b64, padded>
//     (the salt is used as its raw UTF-8 text, not decoded; Django only
//     ships the sha256 variant but pbkdf2_sha512$ is read the same way).
//     The sha512 variants are the same with "sha512". Bounds: iterations
//     1..3,000,000, salt 1..1024 bytes, hash 16..128 bytes; l=, when
//     present, must equal the decoded hash length.
//
//   - sha256-crypt: $5$[rounds=<N>$]<salt>$<43 char hash>
//   - sha512-crypt: $6$[rounds=<N>$]<salt>$<86 char hash>
//     Drepper's SHA-crypt (shacrypt.go). rounds defaults to 5000 and must
//     be 1000..5,000,000 (the algorithm allows up to 999,999,999, hours of
//     CPU per login; passlib's default is 656,000). The salt is 0..16
//     printable ASCII characters other than '$'; the hash uses crypt's
//     base64 alphabet ./0-9A-Za-z. Passwords over 4096 bytes are refused
//     for these formats because the algorithm's cost is quadratic in the
//     password length.
//
// Numbers are plain decimal: no sign, no leading zeros. Anything else
// (unknown prefix, stray characters, wrong segment count, bad base64, out of
// bound parameters) is refused by Identify with an error wrapping
// ErrUnknownFormat, ErrMalformedHash or ErrUnsafeParams that says why.

import (
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
	"golang.org/x/crypto/scrypt"
)

// Format names a password hash format.
type Format string

const (
	FormatArgon2id     Format = "argon2id"
	FormatArgon2i      Format = "argon2i"
	FormatBcrypt       Format = "bcrypt"
	FormatScrypt       Format = "scrypt"
	FormatPBKDF2SHA256 Format = "pbkdf2-sha256"
	FormatPBKDF2SHA512 Format = "pbkdf2-sha512"
	FormatSHA256Crypt  Format = "sha256-crypt"
	FormatSHA512Crypt  Format = "sha512-crypt"
)

// Params are argon2id parameters. Memory is in KiB.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32
	Threads uint8
	SaltLen uint32 // bytes, default 16
	KeyLen  uint32 // bytes, default 32
}

// DefaultParams: m=19 MiB (19456 KiB), t=2, p=1, salt 16, key 32.
var DefaultParams = Params{
	Memory:  19456,
	Time:    2,
	Threads: 1,
	SaltLen: 16,
	KeyLen:  32,
}

// Errors wrapped by Identify and Verify, so callers can classify a refusal;
// the wrapping error's text gives the specific reason.
var (
	ErrUnknownFormat = errors.New("password: unknown or unsupported hash format")
	ErrMalformedHash = errors.New("password: malformed hash")
	ErrUnsafeParams  = errors.New("password: hash parameters out of accepted bounds")
)

// Bounds on imported hashes (see the package comment above).
const (
	maxEncodedLen = 4096

	// Each bound keeps one verification near a second or two of CPU on
	// a current core (bcrypt 15 took 2.1 s, argon2id 256 MiB t=4 1.0 s,
	// pbkdf2-sha512 at 3,000,000 iterations 1.7 s, sha512-crypt at
	// 5,000,000 rounds 2.2 s) and its memory at 256 MiB: a first login
	// holds a hashing slot for that long and cannot be cancelled, and
	// the bounds of the other systems' defaults are far below these.
	argon2MaxMemoryKiB = 1 << 18 // 256 MiB
	argon2MaxWork      = 1 << 20 // m*t, KiB × passes
	argon2MinSalt      = 8
	minSaltLen         = 1
	maxSaltLen         = 1024
	minKeyLen          = 16
	maxKeyLen          = 128

	scryptMaxLogN   = 20
	scryptMaxMemory = 1 << 28 // bytes, 128*r*N
	scryptMaxWork   = 1 << 22 // N*r*p
	// Besides its 128·r·N table, scrypt allocates 128·r·p for its blocks
	// and 256·r of scratch: small for any real hash (3 KiB at r=8, p=1).
	scryptMaxBlocks = 1 << 24 // bytes, 128*r*p + 256*r

	bcryptMaxCost = 15

	pbkdf2MaxIter = 3_000_000 // times the blocks of the key: l / the digest's size, rounded up

	shaCryptMaxRounds = 5_000_000
	// Each round hashes the password two or three times, so its length
	// counts too: rounds × (length + 64) stays within what the largest
	// rounds cost with a 64-byte password.
	shaCryptMaxWork = shaCryptMaxRounds * 128
)

func hashMalformed(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrMalformedHash}, args...)...)
}

func hashUnsafe(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrUnsafeParams}, args...)...)
}

// parsedHash is an encoded hash taken apart far enough to verify it.
type parsedHash struct {
	format Format
	salt   []byte
	key    []byte // expected derived key (not used for bcrypt, sha-crypt)

	// argon2
	version uint32
	memory  uint32
	time    uint32
	threads uint8

	// scrypt
	logN uint
	r, p int

	// pbkdf2
	iter int

	// sha-crypt: rounds, and the encoded digest to compare against
	rounds  int
	crypted string
}

// Identify parses an encoded hash far enough to name its format, and rejects
// strings that are malformed or whose parameters are out of sane bounds (so an
// import can refuse them line by line, with a reason). It must not do the
// expensive hash computation.
func Identify(encoded string) (Format, error) {
	h, err := parseEncodedHash(encoded)
	if err != nil {
		return "", err
	}
	return h.format, nil
}

// HashMemory is the memory, in bytes, that verifying encoded allocates:
// argon2's m and scrypt's 128·r·(N+p) + 256·r; 0 for the other formats,
// whose state is a few hundred bytes, and for a string that does not parse.
func HashMemory(encoded string) uint64 {
	h, err := parseEncodedHash(encoded)
	if err != nil {
		return 0
	}
	switch h.format {
	case FormatArgon2id, FormatArgon2i:
		return uint64(h.memory) << 10
	case FormatScrypt:
		return scryptMemory(h.logN, uint64(h.r), uint64(h.p))
	}
	return 0
}

// scryptMemory is what scrypt.Key allocates: its table (128·r·N), its
// blocks (128·r·p) and its scratch (256·r). The parser bounds r and p
// first, so that this cannot overflow.
func scryptMemory(logN uint, r, p uint64) uint64 {
	return 128*r<<logN + 128*r*p + 256*r
}

// Verify checks password against encoded in any supported format, in constant
// time for the final comparison. A malformed hash is an error, a wrong
// password is (false, nil).
func Verify(encoded, password string) (bool, error) {
	return new(Hasher).Verify(encoded, password)
}

// Verify is the package's Verify, computing argon2 in the hasher's memory.
func (hs *Hasher) Verify(encoded, password string) (bool, error) {
	hs.fresh = true // unless argon2 below uses kept memory
	h, err := parseEncodedHash(encoded)
	if err != nil {
		return false, err
	}
	pw := []byte(password)
	var got []byte
	switch h.format {
	case FormatArgon2id:
		got = hs.argon2Key(argon2TypeID, h.version, pw, h.salt, h.time, h.memory, h.threads, uint32(len(h.key)))
	case FormatArgon2i:
		got = hs.argon2Key(argon2TypeI, h.version, pw, h.salt, h.time, h.memory, h.threads, uint32(len(h.key)))
	case FormatScrypt:
		got, err = scrypt.Key(pw, h.salt, 1<<h.logN, h.r, h.p, len(h.key))
		if err != nil {
			return false, fmt.Errorf("password: scrypt: %w", err)
		}
	case FormatPBKDF2SHA256:
		got, err = pbkdf2.Key(sha256.New, password, h.salt, h.iter, len(h.key))
		if err != nil {
			return false, fmt.Errorf("password: pbkdf2: %w", err)
		}
	case FormatPBKDF2SHA512:
		got, err = pbkdf2.Key(sha512.New, password, h.salt, h.iter, len(h.key))
		if err != nil {
			return false, fmt.Errorf("password: pbkdf2: %w", err)
		}
	case FormatBcrypt:
		// The string was fully validated by parseBcrypt; x/crypto compares
		// in constant time.
		err := bcrypt.CompareHashAndPassword([]byte(encoded), pw)
		switch {
		case err == nil:
			return true, nil
		case errors.Is(err, bcrypt.ErrMismatchedHashAndPassword):
			return false, nil
		default:
			return false, fmt.Errorf("password: bcrypt: %w", err)
		}
	case FormatSHA256Crypt, FormatSHA512Crypt:
		if len(pw) > shaCryptPasswordMax || h.rounds*(len(pw)+64) > shaCryptMaxWork {
			return false, errShaCryptPasswordTooLong
		}
		c := shaCrypt(h.format, pw, h.salt, h.rounds)
		return subtle.ConstantTimeCompare([]byte(c), []byte(h.crypted)) == 1, nil
	default:
		return false, fmt.Errorf("%w: %s", ErrUnknownFormat, h.format)
	}
	return subtle.ConstantTimeCompare(got, h.key) == 1, nil
}

// NeedsRehash reports whether encoded is anything other than argon2id with
// exactly the parameters p (memory, time, threads, key length).
//
// Zero fields of p take their value from DefaultParams, as in HashArgon2id.
// A hash that does not parse needs rehashing.
func NeedsRehash(encoded string, p Params) bool {
	p = fillArgon2Defaults(p)
	h, err := parseEncodedHash(encoded)
	if err != nil || h.format != FormatArgon2id {
		return true
	}
	return h.memory != p.Memory || h.time != p.Time || h.threads != p.Threads ||
		uint32(len(h.key)) != p.KeyLen
}

// SafeToRehash reports whether password, having verified against encoded,
// is surely the password the hash was made from, so that a hash of it may
// replace encoded: a hash of another string that verified would lock the
// owner's real password out. bcrypt reads only a password's first 72
// bytes, so one of 72 or more may differ from the real one after them.
// pbkdf2 and scrypt key an HMAC with the password, which pads a short key
// with zero bytes: a password with NUL bytes after it verifies as the
// password without them.
func SafeToRehash(encoded, password string) bool {
	f, err := Identify(encoded)
	switch {
	case err != nil:
		return false
	case f == FormatBcrypt:
		return len(password) < 72
	case f == FormatPBKDF2SHA256 || f == FormatPBKDF2SHA512 || f == FormatScrypt:
		return !strings.HasSuffix(password, "\x00")
	}
	return true
}

// HashArgon2id hashes password with a fresh random salt into a PHC string:
// $argon2id$v=19$m=19456,t=2,p=1$<salt b64 raw std>$<hash b64 raw std>
//
// Zero fields of p take their value from DefaultParams. The parameters are
// configuration, not input: HashArgon2id panics if they are outside the
// bounds Verify accepts (check them at startup with ValidateParams).
func HashArgon2id(password string, p Params) string {
	return new(Hasher).HashArgon2id(password, p)
}

// HashArgon2id is the package's HashArgon2id, in the hasher's memory.
func (hs *Hasher) HashArgon2id(password string, p Params) string {
	p = fillArgon2Defaults(p)
	if err := ValidateParams(p); err != nil {
		panic("password: HashArgon2id: " + err.Error())
	}
	salt := make([]byte, p.SaltLen)
	_, _ = rand.Read(salt) // never fails (crypto/rand crashes the program instead)
	key := hs.argon2Key(argon2TypeID, argon2.Version, []byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version,
		p.Memory, p.Time, p.Threads,
		base64.RawStdEncoding.EncodeToString(salt),
		base64.RawStdEncoding.EncodeToString(key))
}

// ValidateParams reports whether argon2id parameters p (zero fields taken
// from DefaultParams) are within the bounds Verify accepts, so hashes made
// with them can be verified.
func ValidateParams(p Params) error {
	p = fillArgon2Defaults(p)
	return checkArgon2Params(p.Memory, p.Time, p.Threads, p.SaltLen, p.KeyLen)
}

// fillArgon2Defaults replaces zero fields of p with DefaultParams' values.
func fillArgon2Defaults(p Params) Params {
	if p.Memory == 0 {
		p.Memory = DefaultParams.Memory
	}
	if p.Time == 0 {
		p.Time = DefaultParams.Time
	}
	if p.Threads == 0 {
		p.Threads = DefaultParams.Threads
	}
	if p.SaltLen == 0 {
		p.SaltLen = DefaultParams.SaltLen
	}
	if p.KeyLen == 0 {
		p.KeyLen = DefaultParams.KeyLen
	}
	return p
}

func checkArgon2Params(m, t uint32, p uint8, saltLen, keyLen uint32) error {
	switch {
	case p < 1:
		return hashUnsafe("argon2: p=%d, need at least 1 lane", p)
	case m < 8*uint32(p):
		return hashUnsafe("argon2: m=%d KiB is below the minimum 8*p=%d", m, 8*uint32(p))
	case m > argon2MaxMemoryKiB:
		return hashUnsafe("argon2: m=%d KiB exceeds the limit of %d KiB", m, argon2MaxMemoryKiB)
	case t < 1:
		return hashUnsafe("argon2: t=%d, need at least 1 pass", t)
	case uint64(m)*uint64(t) > argon2MaxWork:
		return hashUnsafe("argon2: m*t=%d exceeds the limit of %d", uint64(m)*uint64(t), argon2MaxWork)
	case saltLen < argon2MinSalt || saltLen > maxSaltLen:
		return hashUnsafe("argon2: salt of %d bytes, need %d..%d", saltLen, argon2MinSalt, maxSaltLen)
	case keyLen < minKeyLen || keyLen > maxKeyLen:
		return hashUnsafe("argon2: hash of %d bytes, need %d..%d", keyLen, minKeyLen, maxKeyLen)
	}
	return nil
}

// parseEncodedHash dispatches on the prefix and validates the whole string.
func parseEncodedHash(s string) (*parsedHash, error) {
	if len(s) > maxEncodedLen {
		return nil, hashMalformed("longer than %d bytes", maxEncodedLen)
	}
	switch {
	case strings.HasPrefix(s, "$argon2id$"):
		return parseArgon2(FormatArgon2id, s[len("$argon2id$"):])
	case strings.HasPrefix(s, "$argon2i$"):
		return parseArgon2(FormatArgon2i, s[len("$argon2i$"):])
	case strings.HasPrefix(s, "$2a$"), strings.HasPrefix(s, "$2b$"), strings.HasPrefix(s, "$2y$"):
		return parseBcrypt(s)
	case strings.HasPrefix(s, "$scrypt$"):
		return parseScrypt(s[len("$scrypt$"):])
	case strings.HasPrefix(s, "$pbkdf2-sha256$"):
		return parsePBKDF2(FormatPBKDF2SHA256, s[len("$pbkdf2-sha256$"):])
	case strings.HasPrefix(s, "$pbkdf2-sha512$"):
		return parsePBKDF2(FormatPBKDF2SHA512, s[len("$pbkdf2-sha512$"):])
	case strings.HasPrefix(s, "pbkdf2_sha256$"):
		return parseDjango(FormatPBKDF2SHA256, s[len("pbkdf2_sha256$"):])
	case strings.HasPrefix(s, "pbkdf2_sha512$"):
		return parseDjango(FormatPBKDF2SHA512, s[len("pbkdf2_sha512$"):])
	case strings.HasPrefix(s, "$5$"):
		return parseSHACrypt(FormatSHA256Crypt, s[len("$5$"):])
	case strings.HasPrefix(s, "$6$"):
		return parseSHACrypt(FormatSHA512Crypt, s[len("$6$"):])
	}
	// Name a few well-known formats we refuse, so the reason is useful.
	for _, u := range []struct{ prefix, name string }{
		{"$argon2d$", "argon2d"},
		{"$2x$", "bcrypt $2x$ (crypt_blowfish bug variant)"},
		{"$2$", "bcrypt $2$"},
		{"$7$", "scrypt $7$"},
		{"$1$", "md5-crypt"},
		{"$y$", "yescrypt"},
		{"$pbkdf2$", "pbkdf2-sha1"},
		{"pbkdf2_sha1$", "django pbkdf2_sha1"},
	} {
		if strings.HasPrefix(s, u.prefix) {
			return nil, fmt.Errorf("%w: %s", ErrUnknownFormat, u.name)
		}
	}
	if s == "" {
		return nil, fmt.Errorf("%w: empty string", ErrUnknownFormat)
	}
	return nil, fmt.Errorf("%w: unrecognised prefix", ErrUnknownFormat)
}

// parseArgon2 parses what follows "$argon2id$" or "$argon2i$".
func parseArgon2(f Format, s string) (*parsedHash, error) {
	name := string(f)
	parts := strings.Split(s, "$")
	h := &parsedHash{format: f}
	switch {
	case len(parts) == 4 && strings.HasPrefix(parts[0], "v="):
		v, err := parseDecimal(parts[0][2:], 1<<32-1)
		if err != nil {
			return nil, hashMalformed("%s: version: %v", name, err)
		}
		switch {
		case v == 0x13:
		case v == 0x10 && f == FormatArgon2i:
		default:
			return nil, fmt.Errorf("%w: %s version v=%d", ErrUnknownFormat, name, v)
		}
		h.version = uint32(v)
		parts = parts[1:]
	case len(parts) < 4 && strings.HasPrefix(parts[0], "v="):
		// Cut short: a version and too few fields after it.
		return nil, hashMalformed("%s: want $%s$v=19$m=..,t=..,p=..$salt$hash; fields are missing after the version", name, name)
	case len(parts) == 3 && f == FormatArgon2i:
		h.version = 0x10 // no v= field: written before version 1.3
	case len(parts) == 3:
		return nil, hashMalformed("%s: missing v=19", name)
	default:
		return nil, hashMalformed("%s: want $%s$v=19$m=..,t=..,p=..$salt$hash", name, name)
	}

	vals, err := parseKeyValues(parts[0], "m", "t", "p")
	if err != nil {
		return nil, hashMalformed("%s: %v", name, err)
	}
	m, t, p := vals[0], vals[1], vals[2]
	if h.salt, err = decodeB64(parts[1], false); err != nil {
		return nil, hashMalformed("%s: salt: %v", name, err)
	}
	if h.key, err = decodeB64(parts[2], false); err != nil {
		return nil, hashMalformed("%s: hash: %v", name, err)
	}
	if p > 255 {
		return nil, hashUnsafe("%s: p=%d exceeds 255", name, p)
	}
	if m > 1<<32-1 || t > 1<<32-1 {
		return nil, hashUnsafe("%s: m or t out of range", name)
	}
	if err := checkArgon2Params(uint32(m), uint32(t), uint8(p), uint32(len(h.salt)), uint32(len(h.key))); err != nil {
		return nil, err
	}
	h.memory, h.time, h.threads = uint32(m), uint32(t), uint8(p)
	return h, nil
}

// parseBcrypt validates a complete bcrypt string; x/crypto does the rest.
func parseBcrypt(s string) (*parsedHash, error) {
	if len(s) != 60 {
		return nil, hashMalformed("bcrypt: %d characters, want 60", len(s))
	}
	if s[6] != '$' || !isDigit(s[4]) || !isDigit(s[5]) {
		return nil, hashMalformed("bcrypt: want $2b$<two-digit cost>$<53 characters>")
	}
	for i := 7; i < len(s); i++ {
		if !isCryptB64(s[i]) {
			return nil, hashMalformed("bcrypt: invalid character %q", s[i])
		}
	}
	cost := int(s[4]-'0')*10 + int(s[5]-'0')
	if cost < bcrypt.MinCost || cost > bcryptMaxCost {
		return nil, hashUnsafe("bcrypt: cost %d, need %d..%d", cost, bcrypt.MinCost, bcryptMaxCost)
	}
	return &parsedHash{format: FormatBcrypt}, nil
}

// parseScrypt parses what follows "$scrypt$".
func parseScrypt(s string) (*parsedHash, error) {
	parts := strings.Split(s, "$")
	if len(parts) != 3 {
		return nil, hashMalformed("scrypt: want $scrypt$ln=..,r=..,p=..$salt$hash")
	}
	vals, err := parseKeyValues(parts[0], "ln", "r", "p")
	if err != nil {
		return nil, hashMalformed("scrypt: %v", err)
	}
	ln, r, p := vals[0], vals[1], vals[2]
	h := &parsedHash{format: FormatScrypt}
	if h.salt, err = decodeB64(parts[1], false); err != nil {
		return nil, hashMalformed("scrypt: salt: %v", err)
	}
	if h.key, err = decodeB64(parts[2], false); err != nil {
		return nil, hashMalformed("scrypt: hash: %v", err)
	}
	switch {
	case ln < 1 || ln > scryptMaxLogN:
		return nil, hashUnsafe("scrypt: ln=%d, need 1..%d", ln, scryptMaxLogN)
	case r < 1 || p < 1:
		return nil, hashUnsafe("scrypt: r and p must be at least 1")
	case r > scryptMaxMemory/128 || 128*r<<ln > scryptMaxMemory:
		return nil, hashUnsafe("scrypt: 128*r*N exceeds %d bytes", scryptMaxMemory)
	case p > scryptMaxWork || r*p<<ln > scryptMaxWork:
		return nil, hashUnsafe("scrypt: N*r*p exceeds %d", scryptMaxWork)
	case 128*r*p+256*r > scryptMaxBlocks:
		return nil, hashUnsafe("scrypt: 128*r*p + 256*r exceeds %d bytes", scryptMaxBlocks)
	}
	if err := checkSaltKey("scrypt", len(h.salt), len(h.key)); err != nil {
		return nil, err
	}
	h.logN, h.r, h.p = uint(ln), int(r), int(p)
	return h, nil
}

// parsePBKDF2 parses what follows "$pbkdf2-sha256$" or "$pbkdf2-sha512$":
// either the PHC form (i=..[,l=..]) or passlib's (bare iteration count,
// adapted base64).
func parsePBKDF2(f Format, s string) (*parsedHash, error) {
	name := string(f)
	parts := strings.Split(s, "$")
	if len(parts) != 3 {
		return nil, hashMalformed("%s: want $%s$i=..,l=..$salt$hash or $%s$<iterations>$salt$hash", name, name, name)
	}
	h := &parsedHash{format: f}
	var iter uint64
	keyLen := int64(-1)
	var err error
	if strings.HasPrefix(parts[0], "i=") {
		var vals []uint64
		if strings.Contains(parts[0], ",") {
			vals, err = parseKeyValues(parts[0], "i", "l")
		} else {
			vals, err = parseKeyValues(parts[0], "i")
		}
		if err != nil {
			return nil, hashMalformed("%s: %v", name, err)
		}
		iter = vals[0]
		if len(vals) == 2 {
			keyLen = int64(min(vals[1], 1<<32))
		}
		if h.salt, err = decodeB64(parts[1], false); err != nil {
			return nil, hashMalformed("%s: salt: %v", name, err)
		}
		if h.key, err = decodeB64(parts[2], false); err != nil {
			return nil, hashMalformed("%s: hash: %v", name, err)
		}
	} else {
		if iter, err = parseDecimal(parts[0], 1<<63-1); err != nil {
			return nil, hashMalformed("%s: iterations: %v", name, err)
		}
		if h.salt, err = decodeB64(parts[1], true); err != nil {
			return nil, hashMalformed("%s: salt: %v", name, err)
		}
		if h.key, err = decodeB64(parts[2], true); err != nil {
			return nil, hashMalformed("%s: hash: %v", name, err)
		}
	}
	if keyLen >= 0 && keyLen != int64(len(h.key)) {
		return nil, hashMalformed("%s: l=%d but the hash is %d bytes", name, keyLen, len(h.key))
	}
	return finishPBKDF2(h, iter)
}

// parseDjango parses what follows Django's "pbkdf2_sha256$".
func parseDjango(f Format, s string) (*parsedHash, error) {
	name := "django " + string(f)
	parts := strings.Split(s, "$")
	if len(parts) != 3 {
		return nil, hashMalformed("%s: want pbkdf2_sha256$<iterations>$salt$hash", name)
	}
	iter, err := parseDecimal(parts[0], 1<<63-1)
	if err != nil {
		return nil, hashMalformed("%s: iterations: %v", name, err)
	}
	h := &parsedHash{format: f}
	if parts[1] == "" {
		return nil, hashMalformed("%s: empty salt", name)
	}
	for i := 0; i < len(parts[1]); i++ {
		if c := parts[1][i]; c < 0x20 || c == 0x7f {
			return nil, hashMalformed("%s: control character in salt", name)
		}
	}
	h.salt = []byte(parts[1])
	if h.key, err = decodeB64(parts[2], false); err != nil {
		return nil, hashMalformed("%s: hash: %v", name, err)
	}
	return finishPBKDF2(h, iter)
}

func finishPBKDF2(h *parsedHash, iter uint64) (*parsedHash, error) {
	if iter < 1 || iter > pbkdf2MaxIter {
		return nil, hashUnsafe("%s: %d iterations, need 1..%d", h.format, iter, pbkdf2MaxIter)
	}
	if err := checkSaltKey(string(h.format), len(h.salt), len(h.key)); err != nil {
		return nil, err
	}
	// Each digest-sized block of the key costs the iterations again.
	digest := 32
	if h.format == FormatPBKDF2SHA512 {
		digest = 64
	}
	if blocks := uint64((len(h.key) + digest - 1) / digest); iter*blocks > pbkdf2MaxIter {
		return nil, hashUnsafe("%s: %d iterations for a key of %d blocks, need at most %d in all", h.format, iter, blocks, pbkdf2MaxIter)
	}
	h.iter = int(iter)
	return h, nil
}

func checkSaltKey(name string, saltLen, keyLen int) error {
	if saltLen < minSaltLen || saltLen > maxSaltLen {
		return hashUnsafe("%s: salt of %d bytes, need %d..%d", name, saltLen, minSaltLen, maxSaltLen)
	}
	if keyLen < minKeyLen || keyLen > maxKeyLen {
		return hashUnsafe("%s: hash of %d bytes, need %d..%d", name, keyLen, minKeyLen, maxKeyLen)
	}
	return nil
}

// parseSHACrypt parses what follows "$5$" or "$6$".
func parseSHACrypt(f Format, s string) (*parsedHash, error) {
	name := string(f)
	h := &parsedHash{format: f, rounds: shaCryptRoundsDefault}
	if rest, ok := strings.CutPrefix(s, "rounds="); ok {
		num, after, found := strings.Cut(rest, "$")
		if !found {
			return nil, hashMalformed("%s: truncated after rounds=", name)
		}
		n, err := parseDecimal(num, 1<<63-1)
		if err != nil {
			return nil, hashMalformed("%s: rounds: %v", name, err)
		}
		if n < shaCryptRoundsMin || n > shaCryptMaxRounds {
			return nil, hashUnsafe("%s: rounds=%d, need %d..%d", name, n, shaCryptRoundsMin, shaCryptMaxRounds)
		}
		h.rounds = int(n)
		s = after
	}
	salt, crypted, found := strings.Cut(s, "$")
	if !found {
		return nil, hashMalformed("%s: want salt$hash", name)
	}
	if len(salt) > shaCryptSaltMax {
		return nil, hashMalformed("%s: salt of %d characters, at most %d", name, len(salt), shaCryptSaltMax)
	}
	for i := 0; i < len(salt); i++ {
		if c := salt[i]; c <= ' ' || c >= 0x7f {
			return nil, hashMalformed("%s: invalid character %q in salt", name, c)
		}
	}
	if want := shaCryptEncodedLen(f); len(crypted) != want {
		return nil, hashMalformed("%s: hash of %d characters, want %d", name, len(crypted), want)
	}
	for i := 0; i < len(crypted); i++ {
		if !isCryptB64(crypted[i]) {
			return nil, hashMalformed("%s: invalid character %q in hash", name, crypted[i])
		}
	}
	h.salt = []byte(salt)
	h.crypted = crypted
	return h, nil
}

// parseKeyValues parses "k1=v1,k2=v2,..." with exactly the given keys in
// that order and decimal values.
func parseKeyValues(s string, keys ...string) ([]uint64, error) {
	fields := strings.Split(s, ",")
	if len(fields) != len(keys) {
		return nil, fmt.Errorf("parameters %q: want %s", s, strings.Join(keys, "=..,")+"=..")
	}
	out := make([]uint64, len(keys))
	for i, fld := range fields {
		k, v, ok := strings.Cut(fld, "=")
		if !ok || k != keys[i] {
			return nil, fmt.Errorf("parameters %q: want %s", s, strings.Join(keys, "=..,")+"=..")
		}
		n, err := parseDecimal(v, 1<<63-1)
		if err != nil {
			return nil, fmt.Errorf("parameter %s: %v", k, err)
		}
		out[i] = n
	}
	return out, nil
}

// parseDecimal parses a plain decimal number (digits only, no sign, no
// leading zeros). Values above limit are clamped to limit+1 so the caller's
// bound check reports them; absurdly long numbers are an error.
func parseDecimal(s string, limit uint64) (uint64, error) {
	if s == "" {
		return 0, errors.New("empty number")
	}
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return 0, fmt.Errorf("%q is not a decimal number", s)
		}
	}
	if len(s) > 1 && s[0] == '0' {
		return 0, fmt.Errorf("%q has a leading zero", s)
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || n > limit {
		return 0, fmt.Errorf("%q is too large", s)
	}
	return n, nil
}

// decodeB64 decodes standard base64 with optional padding. With dotForPlus
// (passlib's adapted base64), '.' stands for '+'. Newlines and other
// characters that encoding/base64 would skip are refused.
func decodeB64(s string, dotForPlus bool) ([]byte, error) {
	if s == "" {
		return nil, errors.New("empty")
	}
	body := strings.TrimRight(s, "=")
	if pad := len(s) - len(body); pad > 0 && (pad > 2 || len(s)%4 != 0) {
		return nil, errors.New("bad padding")
	}
	buf := []byte(body)
	for i, c := range buf {
		switch {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '+', c == '/':
		case c == '.' && dotForPlus:
			buf[i] = '+'
		default:
			return nil, fmt.Errorf("invalid base64 character %q", c)
		}
	}
	out := make([]byte, base64.RawStdEncoding.DecodedLen(len(buf)))
	n, err := base64.RawStdEncoding.Decode(out, buf)
	if err != nil {
		return nil, errors.New("invalid base64 length")
	}
	return out[:n], nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// isCryptB64 reports whether c is in the ./0-9A-Za-z alphabet shared by
// crypt and bcrypt (in different orders).
func isCryptB64(c byte) bool {
	return c == '.' || c == '/' || isDigit(c) || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
}
