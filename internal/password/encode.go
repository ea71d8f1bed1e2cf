package password

import (
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"fmt"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
	"golang.org/x/crypto/scrypt"
)

// Formats lists every format roster verifies.
var Formats = []Format{FormatArgon2id, FormatArgon2i, FormatBcrypt, FormatScrypt, FormatPBKDF2SHA256,
	FormatPBKDF2SHA512, FormatSHA256Crypt, FormatSHA512Crypt}

// EncodeCheap hashes password in format f with the cheapest parameters the
// format allows. It exists to produce files of users "exported from
// another system" for tests, seeding and benchmarks of imports; roster
// itself stores only argon2id at the configured parameters.
func EncodeCheap(f Format, password string) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	b64 := base64.RawStdEncoding.EncodeToString
	pw := []byte(password)
	switch f {
	case FormatArgon2id:
		return HashArgon2id(password, Params{Memory: 64, Time: 1, Threads: 1}), nil
	case FormatArgon2i:
		return fmt.Sprintf("$argon2i$v=19$m=64,t=1,p=1$%s$%s", b64(salt), b64(argon2.Key(pw, salt, 1, 64, 1, 32))), nil
	case FormatBcrypt:
		h, err := bcrypt.GenerateFromPassword(pw, bcrypt.MinCost)
		return string(h), err
	case FormatScrypt:
		key, err := scrypt.Key(pw, salt, 1<<4, 8, 1, 32)
		return fmt.Sprintf("$scrypt$ln=4,r=8,p=1$%s$%s", b64(salt), b64(key)), err
	case FormatPBKDF2SHA256:
		key, err := pbkdf2.Key(sha256.New, password, salt, 1000, 32)
		return fmt.Sprintf("$pbkdf2-sha256$i=1000,l=32$%s$%s", b64(salt), b64(key)), err
	case FormatPBKDF2SHA512:
		key, err := pbkdf2.Key(sha512.New, password, salt, 1000, 64)
		return fmt.Sprintf("$pbkdf2-sha512$i=1000,l=64$%s$%s", b64(salt), b64(key)), err
	case FormatSHA256Crypt, FormatSHA512Crypt:
		// sha-crypt salts are up to 16 characters of its own alphabet.
		const alphabet = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		s := make([]byte, 16)
		for i := range s {
			s[i] = alphabet[int(salt[i])%len(alphabet)]
		}
		id := "5"
		if f == FormatSHA512Crypt {
			id = "6"
		}
		return fmt.Sprintf("$%s$rounds=1000$%s$%s", id, s, shaCrypt(f, pw, s, 1000)), nil
	}
	return "", fmt.Errorf("unknown format %q", f)
}
