package password

import (
	"crypto/pbkdf2"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
	"golang.org/x/crypto/scrypt"
)

const (
	testPassword  = "correct horse battery staple"
	wrongPassword = "correct horse battery stapler"
)

var b64 = base64.RawStdEncoding

// checkVerifies asserts that encoded is identified as want, verifies with
// good and not with bad.
func checkVerifies(t *testing.T, encoded string, want Format, good, bad string) {
	t.Helper()
	f, err := Identify(encoded)
	if err != nil {
		t.Fatalf("Identify(%q): %v", encoded, err)
	}
	if f != want {
		t.Fatalf("Identify(%q) = %q, want %q", encoded, f, want)
	}
	ok, err := Verify(encoded, good)
	if err != nil || !ok {
		t.Fatalf("Verify(%q, %q) = %v, %v; want true, nil", encoded, good, ok, err)
	}
	ok, err = Verify(encoded, bad)
	if err != nil || ok {
		t.Fatalf("Verify(%q, %q) = %v, %v; want false, nil", encoded, bad, ok, err)
	}
}

func testSalt(n int) []byte {
	s := make([]byte, n)
	for i := range s {
		s[i] = byte(i*37 + 11)
	}
	return s
}

func TestArgon2idGenerated(t *testing.T) {
	salt := testSalt(16)
	key := argon2.IDKey([]byte(testPassword), salt, 1, 64, 1, 32)
	enc := fmt.Sprintf("$argon2id$v=19$m=64,t=1,p=1$%s$%s", b64.EncodeToString(salt), b64.EncodeToString(key))
	checkVerifies(t, enc, FormatArgon2id, testPassword, wrongPassword)

	// Several lanes and passes, and a 16-byte tag.
	key = argon2.IDKey([]byte(testPassword), salt, 3, 128, 4, 16)
	enc = fmt.Sprintf("$argon2id$v=19$m=128,t=3,p=4$%s$%s", b64.EncodeToString(salt), b64.EncodeToString(key))
	checkVerifies(t, enc, FormatArgon2id, testPassword, wrongPassword)

	// Padded base64 is accepted too.
	padded := fmt.Sprintf("$argon2id$v=19$m=128,t=3,p=4$%s$%s",
		base64.StdEncoding.EncodeToString(salt), base64.StdEncoding.EncodeToString(key))
	if !strings.Contains(padded, "=$") {
		t.Fatal("test setup: expected padding in salt")
	}
	checkVerifies(t, padded, FormatArgon2id, testPassword, wrongPassword)
}

func TestArgon2iGenerated(t *testing.T) {
	salt := testSalt(16)
	key := argon2.Key([]byte(testPassword), salt, 2, 64, 1, 32)
	enc := fmt.Sprintf("$argon2i$v=19$m=64,t=2,p=1$%s$%s", b64.EncodeToString(salt), b64.EncodeToString(key))
	checkVerifies(t, enc, FormatArgon2i, testPassword, wrongPassword)

	// Version 0x10 (no v= field), computed by this package's own Argon2i.
	key = new(Hasher).argon2Key(argon2TypeI, 0x10, []byte(testPassword), salt, 2, 64, 1, 32)
	enc = fmt.Sprintf("$argon2i$m=64,t=2,p=1$%s$%s", b64.EncodeToString(salt), b64.EncodeToString(key))
	checkVerifies(t, enc, FormatArgon2i, testPassword, wrongPassword)
	// The same tag must not verify as version 0x13.
	if ok, err := Verify(strings.Replace(enc, "$argon2i$", "$argon2i$v=19$", 1), testPassword); ok || err != nil {
		t.Fatalf("0x10 tag verified as 0x13: %v, %v", ok, err)
	}
}

// Published test vectors of the Argon2 reference implementation (src/test.c):
// password "password", salt "somesalt".
func TestArgon2iReferenceVectors(t *testing.T) {
	for _, enc := range []string{
		// version 0x10, written without v=
		"$argon2i$m=256,t=2,p=1$c29tZXNhbHQ$/U3YPXYsSb3q9XxHvc0MLxur+GP960kN9j7emXX8zwY",
		"$argon2i$m=256,t=2,p=2$c29tZXNhbHQ$tsEVYKap1h6scGt5ovl9aLRGOqOth+AMB+KwHpDFZPs",
		// version 0x10 with an explicit v=16
		"$argon2i$v=16$m=256,t=2,p=1$c29tZXNhbHQ$/U3YPXYsSb3q9XxHvc0MLxur+GP960kN9j7emXX8zwY",
		// version 0x13
		"$argon2i$v=19$m=256,t=2,p=1$c29tZXNhbHQ$iekCn0Y3spW+sCcFanM2xBT63UP2sghkUoHLIUpWRS8",
	} {
		checkVerifies(t, enc, FormatArgon2i, "password", "Password")
	}
}

func TestBcrypt(t *testing.T) {
	h, err := bcrypt.GenerateFromPassword([]byte(testPassword), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	enc := string(h)
	if !strings.HasPrefix(enc, "$2a$04$") {
		t.Fatalf("unexpected bcrypt prefix %q", enc)
	}
	checkVerifies(t, enc, FormatBcrypt, testPassword, wrongPassword)
	// $2b$ and $2y$ are the same computation with a different tag.
	checkVerifies(t, "$2b$"+enc[4:], FormatBcrypt, testPassword, wrongPassword)
	checkVerifies(t, "$2y$"+enc[4:], FormatBcrypt, testPassword, wrongPassword)
}

// bcrypt only reads the first 72 password bytes; imported hashes behave as
// they did on the system they came from.
func TestBcryptLongPassword(t *testing.T) {
	long := strings.Repeat("p", 72)
	h, err := bcrypt.GenerateFromPassword([]byte(long), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := Verify(string(h), long+"ignored"); !ok || err != nil {
		t.Fatalf("Verify(73+ byte password) = %v, %v; want true, nil", ok, err)
	}
	if ok, err := Verify(string(h), long[:71]); ok || err != nil {
		t.Fatalf("Verify(71-byte prefix) = %v, %v; want false, nil", ok, err)
	}
}

func TestScryptGenerated(t *testing.T) {
	salt := testSalt(16)
	key, err := scrypt.Key([]byte(testPassword), salt, 1<<4, 8, 2, 32)
	if err != nil {
		t.Fatal(err)
	}
	enc := fmt.Sprintf("$scrypt$ln=4,r=8,p=2$%s$%s", b64.EncodeToString(salt), b64.EncodeToString(key))
	checkVerifies(t, enc, FormatScrypt, testPassword, wrongPassword)
}

// passlib's documented scrypt example (password "password").
func TestScryptPasslibVector(t *testing.T) {
	checkVerifies(t, "$scrypt$ln=16,r=8,p=1$aM15713r3Xsvxbi31lqr1Q$nFNh2CVHVjNldFVKDHDlm4CbdRSCdEBsjjJxD+iCs5E",
		FormatScrypt, "password", "passwore")
}

// ab64 is passlib's adapted base64.
func ab64(b []byte) string { return strings.ReplaceAll(b64.EncodeToString(b), "+", ".") }

func TestPBKDF2Generated(t *testing.T) {
	// The salt starts with bytes that encode as "++++" so the adapted
	// alphabet's '.' is exercised.
	salt := append([]byte{0xfb, 0xef, 0xbe}, testSalt(13)...)
	for _, c := range []struct {
		f       Format
		phc     string
		django  string
		newHash func() hash.Hash
		size    int
	}{
		{FormatPBKDF2SHA256, "pbkdf2-sha256", "pbkdf2_sha256", sha256.New, 32},
		{FormatPBKDF2SHA512, "pbkdf2-sha512", "pbkdf2_sha512", sha512.New, 64},
	} {
		t.Run(string(c.f), func(t *testing.T) {
			key, err := pbkdf2.Key(c.newHash, testPassword, salt, 1000, c.size)
			if err != nil {
				t.Fatal(err)
			}
			phc := fmt.Sprintf("$%s$i=1000,l=%d$%s$%s", c.phc, c.size, b64.EncodeToString(salt), b64.EncodeToString(key))
			checkVerifies(t, phc, c.f, testPassword, wrongPassword)
			phcNoL := fmt.Sprintf("$%s$i=1000$%s$%s", c.phc, b64.EncodeToString(salt), b64.EncodeToString(key))
			checkVerifies(t, phcNoL, c.f, testPassword, wrongPassword)

			passlib := fmt.Sprintf("$%s$1000$%s$%s", c.phc, ab64(salt), ab64(key))
			if !strings.Contains(passlib, ".") {
				t.Fatal("test setup: expected '.' in adapted base64")
			}
			checkVerifies(t, passlib, c.f, testPassword, wrongPassword)

			djSalt := "Zx8rQp2LmN4vT6wY"
			key, err = pbkdf2.Key(c.newHash, testPassword, []byte(djSalt), 1200, c.size)
			if err != nil {
				t.Fatal(err)
			}
			django := fmt.Sprintf("%s$1200$%s$%s", c.django, djSalt, base64.StdEncoding.EncodeToString(key))
			checkVerifies(t, django, c.f, testPassword, wrongPassword)
		})
	}
}

func TestPBKDF2PublishedVectors(t *testing.T) {
	for _, c := range []struct{ enc, pw string }{
		// passlib documentation examples
		{"$pbkdf2-sha256$6400$0ZrzXitFSGltTQnBWOsdAw$Y11AchqV4b0sUisdZd0Xr97KWoymNE0LNNrnEgY4H9M", "password"},
		{"$pbkdf2-sha256$8000$XAuBMIYQQogxRg$tRRlz8hYn63B9LYiCd6PRo6FMiunY9ozmMMI3srxeRE", "password"},
		{"$pbkdf2-sha256$29000$N2YMIWQsBWBMae09x1jrPQ$1t8iyB2A.WF/Z5JZv.lfCIhXXN33N23OSgQYThBYRfk", "toomanysecrets"},
		// Django's own test suite (tests/auth_tests/test_hashers.py, 1.4/1.5 era)
		{"pbkdf2_sha256$10000$seasalt$FQCNpiZpTb0zub+HBsH6TOwyRxJ19FwvjbweatNmK/Y=", "letmein"},
		{"pbkdf2_sha256$10000$seasalt$CWWFdHOWwPnki7HvkcqN9iA2T3KLW1cf2uZ5kvArtVY=", "lètmein"},
	} {
		checkVerifies(t, c.enc, FormatPBKDF2SHA256, c.pw, c.pw+"z")
	}
}

// The test vectors published in Drepper's "Unix crypt using SHA-256 and
// SHA-512". Where the spec's input salt is longer than 16 characters, the
// encoded output (which is what gets stored, and what we verify) carries the
// truncated salt.
var shaCryptVectors = []struct {
	f         Format
	inputSalt string
	rounds    int
	password  string
	encoded   string
}{
	{FormatSHA256Crypt, "saltstring", 5000, "Hello world!",
		"$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5"},
	{FormatSHA256Crypt, "saltstringsaltstring", 10000, "Hello world!",
		"$5$rounds=10000$saltstringsaltst$3xv.VbSHBb41AL9AvLeujZkZRBAwqFMz2.opqey6IcA"},
	{FormatSHA256Crypt, "toolongsaltstring", 5000, "This is just a test",
		"$5$rounds=5000$toolongsaltstrin$Un/5jzAHMgOGZ5.mWJpuVolil07guHPvOW8mGRcvxa5"},
	{FormatSHA256Crypt, "anotherlongsaltstring", 1400,
		"a very much longer text to encrypt.  This one even stretches over morethan one line.",
		"$5$rounds=1400$anotherlongsalts$Rx.j8H.h8HjEDGomFU8bDkXm3XIUnzyxf12oP84Bnq1"},
	{FormatSHA256Crypt, "short", 77777, "we have a short salt string but not a short password",
		"$5$rounds=77777$short$JiO1O3ZpDAxGJeaDIuqCoEFysAe1mZNJRs3pw0KQRd/"},
	{FormatSHA256Crypt, "asaltof16chars..", 123456, "a short string",
		"$5$rounds=123456$asaltof16chars..$gP3VQ/6X7UUEW3HkBn2w1/Ptq2jxPyzV/cZKmF/wJvD"},
	{FormatSHA256Crypt, "roundstoolow", 1000, "the minimum number is still observed",
		"$5$rounds=1000$roundstoolow$yfvwcWrQ8l/K0DAWyuPMDNHpIVlTQebY9l/gL972bIC"},

	{FormatSHA512Crypt, "saltstring", 5000, "Hello world!",
		"$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1"},
	{FormatSHA512Crypt, "saltstringsaltstring", 10000, "Hello world!",
		"$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v."},
	{FormatSHA512Crypt, "toolongsaltstring", 5000, "This is just a test",
		"$6$rounds=5000$toolongsaltstrin$lQ8jolhgVRVhY4b5pZKaysCLi0QBxGoNeKQzQ3glMhwllF7oGDZxUhx1yxdYcz/e1JSbq3y6JMxxl8audkUEm0"},
	{FormatSHA512Crypt, "anotherlongsaltstring", 1400,
		"a very much longer text to encrypt.  This one even stretches over morethan one line.",
		"$6$rounds=1400$anotherlongsalts$POfYwTEok97VWcjxIiSOjiykti.o/pQs.wPvMxQ6Fm7I6IoYN3CmLs66x9t0oSwbtEW7o7UmJEiDwGqd8p4ur1"},
	{FormatSHA512Crypt, "short", 77777, "we have a short salt string but not a short password",
		"$6$rounds=77777$short$WuQyW2YR.hBNpjjRhpYD/ifIw05xdfeEyQoMxIXbkvr0gge1a1x3yRULJ5CCaUeOxFmtlcGZelFl5CxtgfiAc0"},
	{FormatSHA512Crypt, "asaltof16chars..", 123456, "a short string",
		"$6$rounds=123456$asaltof16chars..$BtCwjqMJGx5hrJhZywWvt0RLE8uZ4oPwcelCjmw2kSYu.Ec6ycULevoBK25fs2xXgMNrCzIMVcgEJAstJeonj1"},
	{FormatSHA512Crypt, "roundstoolow", 1000, "the minimum number is still observed",
		"$6$rounds=1000$roundstoolow$kUMsbe306n21p9R.FRkW3IGn.S9NPN0x50YhH1xhLsPuWGsUSklZt58jaTfF4ZEQpyUNGc0dqbpBYYBaHHrsX."},
	// Empty salt (crypt("foo", "$6$$bar$") in glibc's and PHP's tests).
	{FormatSHA512Crypt, "", 5000, "foo",
		"$6$$QMXjqd7rHQZPQ1yHsXkQqC1FBzDiVfTHXL.LaeDAeVV.IzMaV9VU4MQ8kPuZa2SOP1A0RPm772EaFYjpEJtdu."},
}

func TestSHACryptVectors(t *testing.T) {
	for _, v := range shaCryptVectors {
		// The raw algorithm, from the spec's untruncated input salt.
		got := shaCrypt(v.f, []byte(v.password), []byte(v.inputSalt), v.rounds)
		if want := v.encoded[strings.LastIndexByte(v.encoded, '$')+1:]; got != want {
			t.Errorf("shaCrypt(%s, %q, %q, %d) = %q, want %q", v.f, v.password, v.inputSalt, v.rounds, got, want)
			continue
		}
		checkVerifies(t, v.encoded, v.f, v.password, v.password+"!")
	}
}

// scrypt's memory is its table, its blocks and its scratch, as the pool
// must know to bound what hashes hold at once.
func TestScryptHashMemory(t *testing.T) {
	enc := "$scrypt$ln=16,r=8,p=1$aM15713r3Xsvxbi31lqr1Q$nFNh2CVHVjNldFVKDHDlm4CbdRSCdEBsjjJxD+iCs5E"
	if got, want := HashMemory(enc), uint64(128*8*(1<<16)+128*8*1+256*8); got != want {
		t.Fatalf("HashMemory = %d, want %d", got, want)
	}
}

// A long password costs sha-crypt more in every round: past what the
// largest rounds cost with 64 bytes, it is refused before any work.
func TestSHACryptCostCountsThePassword(t *testing.T) {
	enc := "$6$rounds=5000000$saltsalt$" + strings.Repeat("a", 86)
	start := time.Now()
	if _, err := Verify(enc, strings.Repeat("x", 1024)); err == nil {
		t.Fatal("Verify spent 5,000,000 rounds on a 1024-byte password")
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("the refusal took %s", d)
	}
	if _, err := Verify("$6$rounds=1000$saltsalt$"+strings.Repeat("a", 86), strings.Repeat("x", 1024)); err != nil {
		t.Fatalf("few rounds, long password: %v", err)
	}
}

func TestSHACryptLongPassword(t *testing.T) {
	enc := shaCryptVectors[0].encoded
	if _, err := Verify(enc, strings.Repeat("x", 4097)); err == nil {
		t.Fatal("Verify accepted a 4097-byte password for sha-crypt")
	}
	// Just under the bound still works (and is a wrong password).
	if ok, err := Verify(enc, strings.Repeat("x", 4096)); ok || err != nil {
		t.Fatalf("Verify(4096-byte password) = %v, %v; want false, nil", ok, err)
	}
}

func TestIdentifyRejects(t *testing.T) {
	salt := b64.EncodeToString(testSalt(16))
	key := b64.EncodeToString(testSalt(32))
	a2 := func(params string) string { return "$argon2id$v=19$" + params + "$" + salt + "$" + key }
	sc := func(params string) string { return "$scrypt$" + params + "$" + salt + "$" + key }
	bc := "$2a$04$" + strings.Repeat("a", 53)
	sha5 := "$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5"

	for _, c := range []struct {
		name, enc string
		want      error
	}{
		{"empty", "", ErrUnknownFormat},
		{"plain text", "hunter2", ErrUnknownFormat},
		{"unknown prefix", "$md5$abc$def", ErrUnknownFormat},
		{"md5-crypt", "$1$saltsalt$2vnaRpHa6Jxjz5n83ok8Z0", ErrUnknownFormat},
		{"argon2d", "$argon2d$v=19$m=64,t=1,p=1$" + salt + "$" + key, ErrUnknownFormat},
		{"bcrypt 2x", "$2x$04$" + strings.Repeat("a", 53), ErrUnknownFormat},
		{"scrypt $7$", "$7$C6..../....SodiumChloride$kBGj9fHznVYFQMEn/qDCfrDevf9YDtcDdKvEqHJLV8D", ErrUnknownFormat},
		{"too long", "$argon2id$v=19$m=64,t=1,p=1$" + strings.Repeat("A", 5000) + "$" + key, ErrMalformedHash},

		// argon2
		{"argon2 truncated", a2("m=64,t=1,p=1")[:40], ErrMalformedHash},
		{"argon2 no hash", "$argon2id$v=19$m=64,t=1,p=1$" + salt, ErrMalformedHash},
		{"argon2 empty hash", "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$", ErrMalformedHash},
		{"argon2 bad base64", "$argon2id$v=19$m=64,t=1,p=1$c29t!XNhbHQxMjM0NTY$" + key, ErrMalformedHash},
		{"argon2 newline in base64", "$argon2id$v=19$m=64,t=1,p=1$" + salt[:8] + "\n" + salt[8:] + "$" + key, ErrMalformedHash},
		{"argon2 bad base64 length", "$argon2id$v=19$m=64,t=1,p=1$" + salt + "AAA$" + key, ErrMalformedHash},
		{"argon2 trailing", a2("m=64,t=1,p=1") + "$", ErrMalformedHash},
		{"argon2id without v=", "$argon2id$m=64,t=1,p=1$" + salt + "$" + key, ErrMalformedHash},
		{"argon2id v=16", "$argon2id$v=16$m=64,t=1,p=1$" + salt + "$" + key, ErrUnknownFormat},
		{"argon2 v=20", "$argon2i$v=20$m=64,t=1,p=1$" + salt + "$" + key, ErrUnknownFormat},
		{"argon2 param order", a2("t=1,m=64,p=1"), ErrMalformedHash},
		{"argon2 missing param", a2("m=64,t=1"), ErrMalformedHash},
		{"argon2 keyid", a2("m=64,t=1,p=1,keyid=abc"), ErrMalformedHash},
		{"argon2 leading zero", a2("m=064,t=1,p=1"), ErrMalformedHash},
		{"argon2 sign", a2("m=+64,t=1,p=1"), ErrMalformedHash},
		{"argon2 huge number", a2("m=99999999999999999999999,t=1,p=1"), ErrMalformedHash},
		{"argon2 m=10^9", a2("m=1000000000,t=1,p=1"), ErrUnsafeParams},
		{"argon2 m below 8p", a2("m=16,t=1,p=4"), ErrUnsafeParams},
		{"argon2 t=0", a2("m=64,t=0,p=1"), ErrUnsafeParams},
		{"argon2 t huge", a2("m=65536,t=100000,p=1"), ErrUnsafeParams},
		{"argon2 p=0", a2("m=64,t=1,p=0"), ErrUnsafeParams},
		{"argon2 p=256", a2("m=4096,t=1,p=256"), ErrUnsafeParams},
		{"argon2 m over 256 MiB", a2("m=262145,t=1,p=1"), ErrUnsafeParams},
		{"argon2 1 GiB", a2("m=1048576,t=1,p=1"), ErrUnsafeParams},
		{"argon2 256 MiB t=5", a2("m=262144,t=5,p=1"), ErrUnsafeParams},
		{"argon2 short salt", "$argon2id$v=19$m=64,t=1,p=1$c2FsdA$" + key, ErrUnsafeParams},
		{"argon2 short hash", "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + b64.EncodeToString(testSalt(8)), ErrUnsafeParams},

		// bcrypt
		{"bcrypt truncated", bc[:59], ErrMalformedHash},
		{"bcrypt too long", bc + "a", ErrMalformedHash},
		{"bcrypt bad char", bc[:30] + "!" + bc[31:], ErrMalformedHash},
		{"bcrypt cost not digits", "$2a$1x$" + strings.Repeat("a", 53), ErrMalformedHash},
		{"bcrypt cost sign", "$2a$+5$" + strings.Repeat("a", 53), ErrMalformedHash},
		{"bcrypt missing $", "$2a$04" + strings.Repeat("a", 54), ErrMalformedHash},
		{"bcrypt cost 40", "$2b$40$" + strings.Repeat("a", 53), ErrUnsafeParams},
		{"bcrypt cost 16", "$2b$16$" + strings.Repeat("a", 53), ErrUnsafeParams},
		{"bcrypt cost 31", "$2b$31$" + strings.Repeat("a", 53), ErrUnsafeParams},
		{"bcrypt cost 3", "$2b$03$" + strings.Repeat("a", 53), ErrUnsafeParams},

		// scrypt
		{"scrypt truncated", "$scrypt$ln=4,r=8,p=1$" + salt, ErrMalformedHash},
		{"scrypt bad base64", "$scrypt$ln=4,r=8,p=1$" + salt + "$" + key[:10] + "*" + key[11:], ErrMalformedHash},
		{"scrypt N instead of ln", sc("n=16,r=8,p=1"), ErrMalformedHash},
		{"scrypt ln=40", sc("ln=40,r=8,p=1"), ErrUnsafeParams},
		{"scrypt ln=0", sc("ln=0,r=8,p=1"), ErrUnsafeParams},
		{"scrypt r=0", sc("ln=4,r=0,p=1"), ErrUnsafeParams},
		{"scrypt p=0", sc("ln=4,r=8,p=0"), ErrUnsafeParams},
		{"scrypt 2 GiB", sc("ln=20,r=16,p=1"), ErrUnsafeParams},
		{"scrypt huge r", sc("ln=1,r=9223372036854775807,p=1"), ErrUnsafeParams},
		{"scrypt huge p", sc("ln=20,r=8,p=9223372036854775807"), ErrUnsafeParams},
		{"scrypt too much work", sc("ln=20,r=8,p=16"), ErrUnsafeParams},
		{"scrypt 512 MiB", sc("ln=19,r=8,p=1"), ErrUnsafeParams},
		{"scrypt ln=18 p=4", sc("ln=18,r=8,p=4"), ErrUnsafeParams},
		// The blocks and scratch count too: 256 MiB each, beside a tiny table.
		{"scrypt huge p, tiny N", sc("ln=1,r=1,p=2097152"), ErrUnsafeParams},
		{"scrypt huge r, tiny N", sc("ln=1,r=1048576,p=1"), ErrUnsafeParams},

		// pbkdf2
		{"pbkdf2 phc truncated", "$pbkdf2-sha256$i=1000,l=32$" + salt, ErrMalformedHash},
		{"pbkdf2 phc l mismatch", "$pbkdf2-sha256$i=1000,l=64$" + salt + "$" + key, ErrMalformedHash},
		{"pbkdf2 phc unknown param", "$pbkdf2-sha256$i=1000,x=32$" + salt + "$" + key, ErrMalformedHash},
		{"pbkdf2 phc i=0", "$pbkdf2-sha256$i=0,l=32$" + salt + "$" + key, ErrUnsafeParams},
		{"pbkdf2 phc absurd iterations", "$pbkdf2-sha512$i=20000000$" + salt + "$" + key, ErrUnsafeParams},
		{"pbkdf2 one iteration too many", "$pbkdf2-sha512$i=3000001$" + salt + "$" + key, ErrUnsafeParams},
		// A key of four digests costs the iterations four times.
		{"pbkdf2 long key", "$pbkdf2-sha256$i=3000000,l=128$" + salt + "$" + b64.EncodeToString(testSalt(128)), ErrUnsafeParams},
		{"pbkdf2 two blocks", "$pbkdf2-sha256$i=1500001,l=64$" + salt + "$" + b64.EncodeToString(testSalt(64)), ErrUnsafeParams},
		{"pbkdf2 passlib bad char", "$pbkdf2-sha256$1000$" + salt + "$" + key[:5] + "*" + key[6:], ErrMalformedHash},
		{"pbkdf2 passlib iterations not a number", "$pbkdf2-sha256$lots$" + salt + "$" + key, ErrMalformedHash},
		{"pbkdf2 passlib absurd iterations", "$pbkdf2-sha256$4000000000$" + salt + "$" + key, ErrUnsafeParams},
		{"pbkdf2 short hash", "$pbkdf2-sha256$1000$" + salt + "$" + b64.EncodeToString(testSalt(4)), ErrUnsafeParams},
		{"django truncated", "pbkdf2_sha256$10000$seasalt", ErrMalformedHash},
		{"django empty salt", "pbkdf2_sha256$10000$$" + key, ErrMalformedHash},
		{"django bad padding", "pbkdf2_sha256$10000$seasalt$FQCNpiZpTb0zub+HBsH6TOwyRxJ19FwvjbweatNmK/Y==", ErrMalformedHash},
		{"django iterations too large", "pbkdf2_sha256$99999999999999999999999$seasalt$" + key, ErrMalformedHash},
		{"django absurd iterations", "pbkdf2_sha256$100000000$seasalt$" + key, ErrUnsafeParams},
		{"django sha1", "pbkdf2_sha1$10000$seasalt$" + key, ErrUnknownFormat},

		// sha-crypt
		{"sha-crypt truncated", sha5[:len(sha5)-1], ErrMalformedHash},
		{"sha-crypt no hash", "$5$saltstring", ErrMalformedHash},
		{"sha-crypt rounds only", "$5$rounds=5000", ErrMalformedHash},
		{"sha-crypt bad char", strings.Replace(sha5, "Y.", "Y!", 1), ErrMalformedHash},
		{"sha-crypt extra field", sha5 + "$", ErrMalformedHash},
		{"sha-crypt long salt", "$5$saltstringsaltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5", ErrMalformedHash},
		{"sha-crypt space in salt", "$5$salt string$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5", ErrMalformedHash},
		{"sha-crypt 512 hash in $5$", "$5$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1", ErrMalformedHash},
		{"sha-crypt rounds not a number", "$5$rounds=lots$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5", ErrMalformedHash},
		{"sha-crypt rounds too high", "$6$rounds=5000001$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1", ErrUnsafeParams},
		{"sha-crypt rounds at the algorithm's limit", "$6$rounds=999999999$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1", ErrUnsafeParams},
		{"sha-crypt rounds too low", "$5$rounds=10$roundstoolow$yfvwcWrQ8l/K0DAWyuPMDNHpIVlTQebY9l/gL972bIC", ErrUnsafeParams},
		{"sha-crypt rounds too high", "$6$rounds=1000000000$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1", ErrUnsafeParams},
	} {
		t.Run(c.name, func(t *testing.T) {
			f, err := Identify(c.enc)
			if err == nil {
				t.Fatalf("Identify(%q) = %q, nil; want an error", c.enc, f)
			}
			if !errors.Is(err, c.want) {
				t.Fatalf("Identify(%q) error %q, want one wrapping %q", c.enc, err, c.want)
			}
			if ok, verr := Verify(c.enc, testPassword); ok || verr == nil {
				t.Fatalf("Verify(%q) = %v, %v; want false and an error", c.enc, ok, verr)
			}
		})
	}
}

// Identify must not compute hashes: an argon2id string at the maximum
// accepted memory is named instantly and without allocating a gigabyte.
func TestIdentifyIsCheap(t *testing.T) {
	enc := fmt.Sprintf("$argon2id$v=19$m=%d,t=4,p=1$%s$%s", argon2MaxMemoryKiB,
		b64.EncodeToString(testSalt(16)), b64.EncodeToString(testSalt(32)))
	allocs := testing.AllocsPerRun(10, func() {
		if _, err := Identify(enc); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 20 {
		t.Fatalf("Identify made %v allocations", allocs)
	}
	for _, enc := range []string{
		"$scrypt$ln=18,r=8,p=1$" + b64.EncodeToString(testSalt(16)) + "$" + b64.EncodeToString(testSalt(32)),
		"$6$rounds=5000000$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1",
		"$2b$15$" + strings.Repeat("a", 53),
		"$pbkdf2-sha512$i=3000000$" + b64.EncodeToString(testSalt(16)) + "$" + b64.EncodeToString(testSalt(64)),
	} {
		if _, err := Identify(enc); err != nil {
			t.Fatalf("Identify(%q): %v", enc, err)
		}
	}
}

func TestNeedsRehash(t *testing.T) {
	cur := Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
	h := HashArgon2id(testPassword, cur)
	if NeedsRehash(h, cur) {
		t.Fatalf("NeedsRehash(%q, %+v) = true for the exact parameters", h, cur)
	}
	// The salt length is not part of the comparison.
	if p := cur; func() bool { p.SaltLen = 24; return NeedsRehash(h, p) }() {
		t.Fatal("NeedsRehash depends on SaltLen")
	}
	for name, p := range map[string]Params{
		"memory":  {Memory: 128, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32},
		"time":    {Memory: 64, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32},
		"threads": {Memory: 64, Time: 1, Threads: 2, SaltLen: 16, KeyLen: 32},
		"keylen":  {Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 64},
	} {
		if !NeedsRehash(h, p) {
			t.Errorf("NeedsRehash with different %s = false", name)
		}
	}

	// Zero fields mean DefaultParams, both when hashing and when comparing.
	partial := Params{Memory: 64, Time: 1}
	h2 := HashArgon2id(testPassword, partial)
	if NeedsRehash(h2, partial) || NeedsRehash(h2, Params{Memory: 64, Time: 1, Threads: 1, KeyLen: 32}) {
		t.Fatalf("NeedsRehash(%q) with defaulted params = true", h2)
	}

	// Same parameters but argon2i, and every other format, need a rehash.
	salt := testSalt(16)
	a2i := fmt.Sprintf("$argon2i$v=19$m=64,t=1,p=1$%s$%s", b64.EncodeToString(salt),
		b64.EncodeToString(argon2.Key([]byte(testPassword), salt, 1, 64, 1, 32)))
	bc, _ := bcrypt.GenerateFromPassword([]byte(testPassword), bcrypt.MinCost)
	for _, enc := range []string{
		a2i,
		string(bc),
		"$scrypt$ln=16,r=8,p=1$aM15713r3Xsvxbi31lqr1Q$nFNh2CVHVjNldFVKDHDlm4CbdRSCdEBsjjJxD+iCs5E",
		"pbkdf2_sha256$10000$seasalt$FQCNpiZpTb0zub+HBsH6TOwyRxJ19FwvjbweatNmK/Y=",
		shaCryptVectors[0].encoded,
		"",
		"garbage",
		h[:len(h)-5], // truncated current hash
	} {
		if !NeedsRehash(enc, cur) {
			t.Errorf("NeedsRehash(%q) = false", enc)
		}
	}
}

var phcArgon2idRE = regexp.MustCompile(`^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$`)

func TestHashArgon2idRoundTrip(t *testing.T) {
	for _, p := range []Params{
		{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32},
		{Memory: 256, Time: 3, Threads: 4, SaltLen: 24, KeyLen: 48},
	} {
		h := HashArgon2id(testPassword, p)
		m := phcArgon2idRE.FindStringSubmatch(h)
		if m == nil {
			t.Fatalf("HashArgon2id = %q, not a PHC argon2id string", h)
		}
		if want := []string{fmt.Sprint(p.Memory), fmt.Sprint(p.Time), fmt.Sprint(p.Threads)}; m[1] != want[0] || m[2] != want[1] || m[3] != want[2] {
			t.Fatalf("HashArgon2id params m,t,p = %v, want %v", m[1:4], want)
		}
		parsed, err := parseEncodedHash(h)
		if err != nil {
			t.Fatalf("parse %q: %v", h, err)
		}
		if parsed.format != FormatArgon2id || parsed.memory != p.Memory || parsed.time != p.Time ||
			parsed.threads != p.Threads || uint32(len(parsed.salt)) != p.SaltLen || uint32(len(parsed.key)) != p.KeyLen {
			t.Fatalf("HashArgon2id(%+v) = %q parses to %+v", p, h, parsed)
		}
		checkVerifies(t, h, FormatArgon2id, testPassword, wrongPassword)
		if h2 := HashArgon2id(testPassword, p); h2 == h {
			t.Fatal("two hashes of the same password are identical: salt not random")
		}
	}
}

func TestHashArgon2idDefaultParams(t *testing.T) {
	if DefaultParams != (Params{Memory: 19456, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}) {
		t.Fatalf("DefaultParams = %+v", DefaultParams)
	}
	h := HashArgon2id(testPassword, DefaultParams)
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("HashArgon2id(DefaultParams) = %q", h)
	}
	checkVerifies(t, h, FormatArgon2id, testPassword, wrongPassword)
	if NeedsRehash(h, DefaultParams) {
		t.Fatal("NeedsRehash(default hash, DefaultParams) = true")
	}
}

func TestValidateParams(t *testing.T) {
	if err := ValidateParams(DefaultParams); err != nil {
		t.Fatalf("ValidateParams(DefaultParams): %v", err)
	}
	if err := ValidateParams(Params{}); err != nil {
		t.Fatalf("ValidateParams(zero): %v", err)
	}
	bad := Params{Memory: 1_000_000_000, Time: 1, Threads: 1}
	if err := ValidateParams(bad); !errors.Is(err, ErrUnsafeParams) {
		t.Fatalf("ValidateParams(%+v) = %v", bad, err)
	}
	defer func() {
		if recover() == nil {
			t.Fatal("HashArgon2id with m=10^9 did not panic")
		}
	}()
	HashArgon2id(testPassword, bad)
}

// Every format EncodeCheap writes is identified and verified as such.
func TestEncodeCheapRoundTrips(t *testing.T) {
	for _, f := range Formats {
		h, err := EncodeCheap(f, "an imported password")
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if got, err := Identify(h); err != nil || got != f {
			t.Fatalf("%s: identified as %s, %v (%s)", f, got, err, h)
		}
		if ok, err := Verify(h, "an imported password"); !ok || err != nil {
			t.Fatalf("%s: right password %v, %v", f, ok, err)
		}
		if ok, _ := Verify(h, "another password"); ok {
			t.Fatalf("%s: wrong password accepted", f)
		}
	}
}

// A PHC string cut short says what is missing, not that the version is.
func TestArgon2CutShortSaysWhatIsMissing(t *testing.T) {
	salt := b64.EncodeToString(testSalt(16))
	for _, s := range []string{"$argon2id$v=19$m=64,t=1,p=1$" + salt, "$argon2i$v=19$m=64,t=1,p=1", "$argon2id$v=19"} {
		_, err := Identify(s)
		if !errors.Is(err, ErrMalformedHash) || strings.Contains(err.Error(), "missing v=19") || !strings.Contains(err.Error(), "missing") {
			t.Errorf("%q: %v", s, err)
		}
	}
	// Without a version it is the version that is missing (argon2id was
	// never written without one).
	if _, err := Identify("$argon2id$m=64,t=1,p=1$" + salt + "$" + salt); err == nil || !strings.Contains(err.Error(), "missing v=19") {
		t.Errorf("no version: %v", err)
	}
}

// A password that verified only because the format reads it loosely must
// not replace the hash: the owner's real password would stop working.
func TestSafeToRehash(t *testing.T) {
	const pw = "the owner's real passphrase"
	salt := testSalt(16)
	pbkdf2Key, err := pbkdf2.Key(sha256.New, pw, salt, 1000, 32)
	if err != nil {
		t.Fatal(err)
	}
	pbkdf2Hash := fmt.Sprintf("$pbkdf2-sha256$1000$%s$%s", ab64(salt), ab64(pbkdf2Key))
	scryptKey, err := scrypt.Key([]byte(pw), salt, 1<<4, 8, 1, 32)
	if err != nil {
		t.Fatal(err)
	}
	scryptHash := fmt.Sprintf("$scrypt$ln=4,r=8,p=1$%s$%s", b64.EncodeToString(salt), b64.EncodeToString(scryptKey))
	long := strings.Repeat("p", 72)
	bcryptHash, err := bcrypt.GenerateFromPassword([]byte(long), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, encoded, password string
		verifies, safe          bool
	}{
		{"pbkdf2, the password", pbkdf2Hash, pw, true, true},
		{"pbkdf2, a NUL after it", pbkdf2Hash, pw + "\x00", true, false},
		{"scrypt, the password", scryptHash, pw, true, true},
		{"scrypt, NULs after it", scryptHash, pw + "\x00\x00", true, false},
		{"bcrypt, 71 bytes", string(bcryptHash), long[:71], false, true},
		{"bcrypt, 72 bytes or more", string(bcryptHash), long + "typed", true, false},
		{"argon2id, a NUL after it", HashArgon2id(pw, testParams), pw + "\x00", false, true},
		{"not a hash", "plain", pw, false, false},
	} {
		if ok, _ := Verify(c.encoded, c.password); ok != c.verifies {
			t.Errorf("%s: Verify = %v, want %v", c.name, ok, c.verifies)
		}
		if got := SafeToRehash(c.encoded, c.password); got != c.safe {
			t.Errorf("%s: SafeToRehash = %v, want %v", c.name, got, c.safe)
		}
	}
}
