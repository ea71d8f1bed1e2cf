package api_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"roster/internal/api"
	"roster/internal/core"
	"roster/internal/password"
	"roster/internal/store"
	"roster/internal/testsupport"
)

type importResult struct {
	Line   int            `json:"line"`
	Status string         `json:"status"`
	ID     string         `json:"id"`
	Number int64          `json:"number"`
	Reason string         `json:"reason"`
	Error  map[string]any `json:"error"`
}

func runImport(t *testing.T, e *nativeEnv, mode string, body []byte) []importResult {
	t.Helper()
	r := e.admin.Do("POST", "/v1/users/import?mode="+mode, body, testsupport.ContentType("application/x-ndjson")).Want(t, 200)
	if ct := r.Header.Get("Content-Type"); ct != "application/x-ndjson" {
		t.Fatalf("content type %q", ct)
	}
	var out []importResult
	sc := bufio.NewScanner(bytes.NewReader(r.Body))
	for sc.Scan() {
		var res importResult
		if err := json.Unmarshal(sc.Bytes(), &res); err != nil {
			t.Fatalf("result line %q: %v", sc.Text(), err)
		}
		out = append(out, res)
	}
	return out
}

func TestImport(t *testing.T) {
	testsupport.EachBackend(t, func(t *testing.T, b testsupport.Backend) {
		testImport(t, startNative(t, testsupport.Options{Store: b.Open(t)}))
	})
}

func testImport(t *testing.T, e *nativeEnv) {
	tenant := e.tenant(t, "Imported Inc")
	const perFormat = 300
	var (
		buf       bytes.Buffer
		line      int
		passwords = map[string]string{} // email → password, for the logins below
		format    = map[string]password.Format{}
	)
	write := func(v any) {
		line++
		b, _ := json.Marshal(v)
		buf.Write(b)
		buf.WriteByte('\n')
	}
	// Hashing is the slow part of making the file: one hash per format,
	// a few users with their own password each.
	for _, f := range password.Formats {
		shared := fmt.Sprintf("shared password for %s", f)
		sharedHash, err := password.EncodeCheap(f, shared)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < perFormat; i++ {
			email := fmt.Sprintf("%s-%03d@import.example", f, i)
			pw, hash := shared, sharedHash
			if i < 3 {
				pw = fmt.Sprintf("own password %s %d", f, i)
				if hash, err = password.EncodeCheap(f, pw); err != nil {
					t.Fatal(err)
				}
			}
			passwords[email], format[email] = pw, f
			write(map[string]any{"email": email, "name": fmt.Sprintf("User %d", i), "password_hash": hash, "tenant_id": tenant})
		}
	}
	// Plaintext passwords are hashed by roster.
	write(map[string]any{"email": "plain@import.example", "password": "a plaintext passphrase", "tenant_id": tenant})
	passwords["plain@import.example"] = "a plaintext passphrase"
	// Ids, numbers and external ids are kept.
	keptID := "01890000-0000-7000-8000-0000000000aa"
	write(map[string]any{"id": keptID, "number": 777777, "external_id": "legacy-42", "email": "kept@import.example",
		"username": "kept", "tenant_id": tenant, "roles": []string{"tenant-admin"}, "status": "invited"})
	keptLine := line
	// Bad lines are reported and the import goes on.
	buf.WriteString("{not json\n")
	line++
	badJSON := line
	write(map[string]any{"email": "not-an-email", "tenant_id": tenant})
	badEmail := line
	write(map[string]any{"email": "hash@import.example", "password_hash": "$1$md5$isnotsupported", "tenant_id": tenant})
	badHash := line
	// The same user twice in one batch is an error; a user of an earlier
	// batch of the same file is an existing one, skipped.
	write(map[string]any{"email": "twice@import.example", "tenant_id": tenant})
	write(map[string]any{"email": "TWICE@import.example", "tenant_id": tenant})
	dupInFile := line
	write(map[string]any{"email": "argon2id-000@import.example", "tenant_id": tenant})
	dupEarlier := line
	write(map[string]any{"email": "role@import.example", "tenant_id": tenant, "roles": []string{"overlord"}})
	badRole := line
	buf.WriteString("\n   \n")
	total := line

	results := runImport(t, e, "create", buf.Bytes())
	if len(results) != total {
		t.Fatalf("%d result lines for %d input lines", len(results), total)
	}
	byLine := map[int]importResult{}
	counts := map[string]int{}
	for i, r := range results {
		if r.Line != i+1 {
			t.Fatalf("result %d is for line %d: results come back in order", i, r.Line)
		}
		byLine[r.Line] = r
		counts[r.Status]++
	}
	wantCreated := len(password.Formats)*perFormat + 3
	if counts["created"] != wantCreated || counts["error"] != 5 || counts["skipped"] != 1 {
		t.Fatalf("counts %v, want %d created, 1 skipped and 5 errors", counts, wantCreated)
	}
	if r := byLine[dupEarlier]; r.Status != "skipped" || r.Reason != "exists" {
		t.Errorf("a user of an earlier batch: %+v", r)
	}
	for l, code := range map[int]string{badJSON: "malformed", badEmail: "invalid", badHash: "invalid", dupInFile: "conflict", badRole: "role_invalid"} {
		r := byLine[l]
		if r.Status != "error" || r.Error["code"] != code {
			t.Errorf("line %d: %+v, want error %s", l, r, code)
		}
	}
	if r := byLine[keptLine]; r.ID != keptID || r.Number != 777777 {
		t.Fatalf("kept ids: %+v", r)
	}
	kept := e.admin.Do("GET", "/v1/users/"+keptID, nil).Want(t, 200).Map(t)
	if kept["external_id"] != "legacy-42" || kept["number"].(float64) != 777777 || kept["status"] != "invited" {
		t.Fatalf("kept user: %v", kept)
	}
	// A user made after an import with explicit numbers gets a fresh one.
	after := e.user(t, e.admin, map[string]any{"email": "after@import.example", "tenant_id": tenant})
	if after["number"].(float64) <= 777777 {
		t.Fatalf("number after the import: %v", after["number"])
	}

	// A clash the lookup before writing cannot see (a number already
	// taken) spoils the batch's bulk write: each line is then written on
	// its own, and only the clashing one fails.
	clash := runImport(t, e, "create", []byte(fmt.Sprintf("%s\n%s\n%s\n",
		`{"email": "before-clash@import.example", "password_hash": "`+mustHash(t, password.Formats[0], "x")+`", "tenant_id": "`+tenant+`"}`,
		`{"email": "clash@import.example", "number": 777777, "tenant_id": "`+tenant+`"}`,
		`{"email": "after-clash@import.example", "tenant_id": "`+tenant+`"}`)))
	if len(clash) != 3 || clash[0].Status != "created" || clash[1].Status != "error" ||
		clash[1].Error["code"] != "conflict" || clash[2].Status != "created" || clash[2].Number == 0 {
		t.Fatalf("a batch with a clashing number: %+v", clash)
	}
	for _, email := range []string{"before-clash@import.example", "after-clash@import.example"} {
		u, err := e.Store.GetUser(context.Background(), core.UserRef{Email: email})
		if err != nil || len(u.Memberships) != 1 || u.Memberships[0].TenantID != tenant || u.HasPassword != (email == "before-clash@import.example") {
			t.Fatalf("%s written alone: %+v, %v", email, u, err)
		}
	}

	// So does a line whose email is another user's username, or whose
	// username another line's email: both are typed at one login prompt.
	e.user(t, e.admin, map[string]any{"email": "shadow-owner@import.example", "username": "shadow@import.example", "tenant_id": tenant})
	cross := runImport(t, e, "create", []byte(fmt.Sprintf("%s\n%s\n%s\n",
		`{"email": "Shadow@import.example", "tenant_id": "`+tenant+`"}`,
		`{"email": "twin-login@import.example", "tenant_id": "`+tenant+`"}`,
		`{"email": "twin-holder@import.example", "username": "TWIN-LOGIN@import.example", "tenant_id": "`+tenant+`"}`)))
	if len(cross) != 3 || cross[0].Status != "error" || cross[0].Error["code"] != "conflict" ||
		cross[1].Status != "created" || cross[2].Status != "error" || cross[2].Error["code"] != "conflict" {
		t.Fatalf("a batch whose emails and usernames cross: %+v", cross)
	}

	// Imported hashes of every format log in, and are replaced by argon2id.
	for email, pw := range passwords {
		if !strings.HasSuffix(strings.SplitN(email, "@", 2)[0], "-000") && !strings.HasSuffix(strings.SplitN(email, "@", 2)[0], "-001") &&
			!strings.HasSuffix(strings.SplitN(email, "@", 2)[0], "-299") && email != "plain@import.example" {
			continue
		}
		wantProblem(t, e.anon.Do("POST", "/v1/auth/login", map[string]any{"email": email, "password": pw + "!"}), 401, "unauthenticated")
		e.anon.Do("POST", "/v1/auth/login", map[string]any{"email": email, "password": pw}).Want(t, 200)
		u, err := e.Store.GetUser(context.Background(), core.UserRef{Email: email})
		if err != nil {
			t.Fatal(err)
		}
		c, err := e.Store.GetCredential(context.Background(), u.ID)
		if err != nil || !strings.HasPrefix(c.Hash, "$argon2id$") || password.NeedsRehash(c.Hash, testsupport.FastParams) {
			t.Fatalf("%s (%s) after login: %q, %v", email, format[email], c.Hash, err)
		}
		e.anon.Do("POST", "/v1/auth/login", map[string]any{"email": email, "password": pw}).Want(t, 200)
	}

	// The same file again: everything that exists is skipped.
	again := runImport(t, e, "create", buf.Bytes())
	counts = map[string]int{}
	for _, r := range again {
		counts[r.Status]++
	}
	if counts["skipped"] != wantCreated+1 || counts["created"] != 0 {
		t.Fatalf("second import: %v", counts)
	}
	// Upsert updates in place, keeping ids, and creates what is new, in
	// the same batch.
	upsert := fmt.Sprintf("%s\n%s\n%s\n",
		`{"email": "plain@import.example", "name": "Renamed", "tenant_id": "`+tenant+`"}`,
		`{"external_id": "legacy-42", "email": "kept@import.example", "username": "kept", "name": "Kept Again", "tenant_id": "`+tenant+`", "roles": ["viewer"], "password": "a replaced passphrase", "status": "active"}`,
		`{"email": "new-in-upsert@import.example", "tenant_id": "`+tenant+`"}`)
	up := runImport(t, e, "upsert", []byte(upsert))
	if len(up) != 3 || up[0].Status != "updated" || up[1].Status != "updated" || up[1].ID != keptID || up[2].Status != "created" {
		t.Fatalf("upsert: %+v", up)
	}
	if u, err := e.Store.GetUser(context.Background(), core.UserRef{Email: "new-in-upsert@import.example"}); err != nil || len(u.Memberships) != 1 {
		t.Fatalf("user created by an upsert: %+v, %v", u, err)
	}
	e.anon.Do("POST", "/v1/auth/login", map[string]any{"email": "kept@import.example", "password": "a replaced passphrase"}).Want(t, 200)
	kept = e.admin.Do("GET", "/v1/users/"+keptID, nil).Want(t, 200).Map(t)
	m := kept["memberships"].([]any)[0].(map[string]any)
	if kept["name"] != "Kept Again" || m["roles"].([]any)[0] != "viewer" {
		t.Fatalf("after upsert: %v", kept)
	}
	// The plaintext user's password survived the upsert.
	e.anon.Do("POST", "/v1/auth/login", map[string]any{"email": "plain@import.example", "password": "a plaintext passphrase"}).Want(t, 200)
	// Authorisation: a tenant's reader may not import.
	reader, _, _ := e.key(t, e.admin, map[string]any{"name": "reader", "tenant_id": tenant, "roles": []string{"viewer"}, "service": true})
	// Refused whole, before a line is read: every line would be.
	wantProblem(t, reader.Do("POST", "/v1/users/import", `{"email": "x@import.example", "tenant_id": "`+tenant+`"}`+"\n",
		testsupport.ContentType("application/x-ndjson")), 403, "forbidden")
	wantProblem(t, e.admin.Do("POST", "/v1/users/import?mode=merge", "", testsupport.ContentType("application/x-ndjson"), testsupport.Invalid()), 400, "invalid")
}

// importAs runs an import with another client's credentials.
func importAs(t *testing.T, c *testsupport.Client, mode, body string) []importResult {
	t.Helper()
	r := c.Do("POST", "/v1/users/import?mode="+mode, body, testsupport.ContentType("application/x-ndjson")).Want(t, 200)
	var out []importResult
	for _, l := range bytes.Split(bytes.TrimSpace(r.Body), []byte("\n")) {
		var res importResult
		if err := json.Unmarshal(l, &res); err != nil {
			t.Fatalf("result line %q: %v", l, err)
		}
		out = append(out, res)
	}
	return out
}

// A tenant administrator's import reaches only the users that the same
// administrator could change through PATCH /v1/users/{id}: not a member of
// another tenant, not a provider administrator, and says nothing of them.
// Numbers, drawn for the whole provider, are given by provider
// administrators only.
func TestImportKeepsToTheCallersTenants(t *testing.T) {
	e := startNative(t, testsupport.Options{})
	acme, other := e.tenant(t, "Acme"), e.tenant(t, "Other")
	victim := e.user(t, e.admin, map[string]any{"email": "victim@other.example", "tenant_id": other, "roles": []string{"tenant-admin"},
		"action": "register", "password": "the victim's own passphrase"})
	both := e.user(t, e.admin, map[string]any{"email": "both@acme.example", "tenant_id": acme, "action": "register", "password": "a passphrase of both"})
	e.admin.Do("PUT", "/v1/tenants/"+other+"/members/"+str(both, "id"), map[string]any{"roles": []string{"tenant-user"}}).Want(t, 200)
	mine := e.user(t, e.admin, map[string]any{"email": "mine@acme.example", "tenant_id": acme})
	e.user(t, e.admin, map[string]any{"email": "padmin@prov.example", "roles": []string{"provider-admin"}, "action": "register",
		"password": "the provider admin's passphrase"})
	admin, _, _ := e.key(t, e.admin, map[string]any{"name": "acme admin", "tenant_id": acme, "roles": []string{"tenant-admin"}, "service": true})

	hash := mustHash(t, password.FormatBcrypt, "the attacker's passphrase")
	up := importAs(t, admin, "upsert", strings.Join([]string{
		`{"email":"victim@other.example","tenant_id":"` + acme + `","password_hash":"` + hash + `","roles":["tenant-admin"]}`,
		`{"email":"padmin@prov.example","tenant_id":"` + acme + `","password_hash":"` + hash + `"}`,
		`{"email":"both@acme.example","tenant_id":"` + acme + `","name":"Renamed"}`,
		`{"email":"mine@acme.example","tenant_id":"` + acme + `","name":"Mine Renamed"}`,
		`{"email":"numbered@acme.example","tenant_id":"` + acme + `","number":4503599627370496}`,
	}, "\n"))
	want := []struct{ status, code string }{{"error", "conflict"}, {"error", "conflict"}, {"error", "forbidden"}, {"updated", ""}, {"error", "forbidden"}}
	for i, w := range want {
		if up[i].Status != w.status || (w.code != "" && up[i].Error["code"] != w.code) || (w.status == "error" && (up[i].ID != "" || up[i].Number != 0)) {
			t.Errorf("line %d: %+v, want %s %s and no id", i+1, up[i], w.status, w.code)
		}
	}
	e.anon.Do("POST", "/v1/auth/login", map[string]any{"email": "victim@other.example", "password": "the victim's own passphrase"}).Want(t, 200)
	e.anon.Do("POST", "/v1/auth/login", map[string]any{"email": "padmin@prov.example", "password": "the provider admin's passphrase"}).Want(t, 200)
	wantProblem(t, e.anon.Do("POST", "/v1/auth/login", map[string]any{"email": "victim@other.example", "password": "the attacker's passphrase"}), 401, "unauthenticated")
	if v := e.admin.Do("GET", "/v1/users/"+str(victim, "id"), nil).Want(t, 200).Map(t); len(v["memberships"].([]any)) != 1 {
		t.Fatalf("the victim was added to the importer's tenant: %v", v["memberships"])
	}
	if b := e.admin.Do("GET", "/v1/users/"+str(both, "id"), nil).Want(t, 200).Map(t); b["name"] == "Renamed" {
		t.Fatal("a member of another tenant was changed")
	}
	if m := e.admin.Do("GET", "/v1/users/"+str(mine, "id"), nil).Want(t, 200).Map(t); m["name"] != "Mine Renamed" {
		t.Fatalf("the tenant's own user was not updated: %v", m)
	}
	// In create mode, a user outside the caller's tenants is not shown
	// as skipped with its id, only refused.
	cr := importAs(t, admin, "create", `{"email":"victim@other.example","tenant_id":"`+acme+`"}`)
	cr = append(cr, importAs(t, admin, "create", `{"id":"`+str(both, "id")+`","email":"victim@other.example","tenant_id":"`+acme+`"}`)...)
	if cr[0].Status != "error" || cr[0].ID != "" || cr[0].Number != 0 {
		t.Fatalf("create mode told of another tenant's user: %+v", cr[0])
	}
	// Nor whether two keys of a line belong to one hidden user or two.
	if cr[1].Status != "error" || cr[1].Error["detail"] != "matches an existing user outside your tenants" {
		t.Fatalf("a line matching a visible and a hidden user: %+v", cr[1])
	}
	// Even a provider administrator's number has an upper bound, 2^52,
	// which leaves the numbers drawn after it within 2^53-1.
	big := runImport(t, e, "create", []byte(`{"email":"big@acme.example","tenant_id":"`+acme+`","number":4503599627370497}`+"\n"))
	if big[0].Status != "error" || big[0].Error["code"] != "invalid" {
		t.Fatalf("a number past 2^52: %+v", big[0])
	}
	top := runImport(t, e, "create", []byte(`{"email":"top@acme.example","tenant_id":"`+acme+`","number":4503599627370496}`+"\n"))
	if top[0].Status != "created" {
		t.Fatalf("the largest number: %+v", top[0])
	}
	after := e.admin.Do("POST", "/v1/users", map[string]any{"email": "after@acme.example", "tenant_id": acme}).Want(t, 201).Map(t)
	if n := after["number"].(float64); n != 4503599627370497 {
		t.Fatalf("the number after the largest: %v", n)
	}
}

// An upsert changes what the line gives and keeps the rest, as a PATCH
// would; a line whose id names another user than the one its email
// matches is refused.
func TestImportUpsertKeepsWhatTheLineLeavesOut(t *testing.T) {
	e := startNative(t, testsupport.Options{})
	acme := e.tenant(t, "Acme")
	first := runImport(t, e, "create", []byte(`{"email":"kept@acme.example","external_id":"legacy-7","username":"kept7","phone":"+15550100",`+
		`"status":"disabled","email_confirmed":true,"attributes":{"plan":"gold"},"tenant_id":"`+acme+`","roles":["tenant-admin"]}`+"\n"))
	if first[0].Status != "created" {
		t.Fatalf("create: %+v", first[0])
	}
	id := first[0].ID
	up := runImport(t, e, "upsert", []byte(`{"email":"kept@acme.example","name":"New Name","tenant_id":"`+acme+`"}`+"\n"+
		`{"email":"kept@acme.example","id":"01890000-0000-7000-8000-0000000000ff","tenant_id":"`+acme+`"}`+"\n"+
		`{"external_id":"legacy-7","username":"other7","tenant_id":"`+acme+`"}`+"\n"))
	if up[0].Status != "updated" || up[0].ID != id {
		t.Fatalf("upsert: %+v", up[0])
	}
	if up[1].Status != "error" {
		t.Fatalf("a line whose id differs from its match's: %+v", up[1])
	}
	if up[2].Status != "error" || up[2].Error["code"] != "conflict" {
		t.Fatalf("a second line matching the same user by another key: %+v", up[2])
	}
	u := e.admin.Do("GET", "/v1/users/"+id, nil).Want(t, 200).Map(t)
	m := u["memberships"].([]any)[0].(map[string]any)
	if u["name"] != "New Name" || u["external_id"] != "legacy-7" || u["username"] != "kept7" || u["phone"] != "+15550100" ||
		u["status"] != "disabled" || u["email_confirmed"] != true || u["attributes"].(map[string]any)["plan"] != "gold" ||
		m["roles"].([]any)[0] != "tenant-admin" {
		t.Fatalf("after an upsert of the name alone: %v", u)
	}
	// A new first name leaves a name given on its own; a line's texts are
	// trimmed, so that " legacy-7 " is the same external id.
	again := runImport(t, e, "upsert", []byte(`{"external_id":" legacy-7 ","first_name":"Kept","phone":" +15550199 ","tenant_id":"`+acme+`"}`+"\n"))
	if again[0].Status != "updated" || again[0].ID != id {
		t.Fatalf("upsert by a padded external id: %+v", again[0])
	}
	if u = e.admin.Do("GET", "/v1/users/"+id, nil).Want(t, 200).Map(t); u["name"] != "New Name" || u["first_name"] != "Kept" || u["phone"] != "+15550199" {
		t.Fatalf("after an upsert of the first name: %v", u)
	}
}

// An upsert that gives a user a new password ends the user's sessions, as
// a PATCH of the password does; one that changes nothing of how the user
// signs in leaves them.
func TestImportUpsertOfAPasswordEndsSessions(t *testing.T) {
	e := startNative(t, testsupport.Options{})
	acme := e.tenant(t, "Acme")
	created := runImport(t, e, "create", []byte(`{"email":"moving@acme.example","password":"First-Passphrase-1","tenant_id":"`+acme+`"}`+"\n"+
		`{"email":"staying@acme.example","password":"First-Passphrase-1","tenant_id":"`+acme+`"}`+"\n"))
	if created[0].Status != "created" || created[1].Status != "created" {
		t.Fatalf("create: %+v", created)
	}
	session := func(email string) *testsupport.Client {
		tok := e.anon.Do("POST", "/v1/auth/login", map[string]any{"email": email, "password": "First-Passphrase-1"}).Want(t, 200).Map(t)
		return e.anon.Bearer(str(tok, "token"))
	}
	moving, staying := session("moving@acme.example"), session("staying@acme.example")
	up := runImport(t, e, "upsert", []byte(`{"email":"moving@acme.example","password":"Second-Passphrase-2","tenant_id":"`+acme+`"}`+"\n"+
		`{"email":"staying@acme.example","name":"Stays Signed In","tenant_id":"`+acme+`"}`+"\n"))
	if up[0].Status != "updated" || up[1].Status != "updated" {
		t.Fatalf("upsert: %+v", up)
	}
	wantProblem(t, moving.Do("GET", "/v1/me", nil), 401, "unauthenticated")
	staying.Do("GET", "/v1/me", nil).Want(t, 200)
}

// Result lines are numbered as the file's lines are, blank ones included;
// a byte order mark before the first line is ignored.
func TestImportNumbersEveryLine(t *testing.T) {
	e := startNative(t, testsupport.Options{})
	res := runImport(t, e, "create", []byte("\xef\xbb\xbf{\"email\":\"bom@import.example\"}\n\n   \n{bad json\n\f\n"))
	if len(res) != 3 || res[0].Line != 1 || res[0].Status != "created" || res[1].Line != 4 || res[1].Status != "error" ||
		res[2].Line != 5 || res[2].Status != "error" {
		t.Fatalf("results: %+v", res)
	}
}

// A hash whose verification would hold a hashing slot for minutes, or
// take more than 256 MiB, is refused on its line, not at the first login.
func TestImportRefusesCostlyHashes(t *testing.T) {
	e := startNative(t, testsupport.Options{})
	salt, key := "c29tZXNhbHRzb21lc2FsdA", "c29tZXNhbHRzb21lc2FsdHNvbWVzYWx0c29tZXNhbHQ"
	costly := []string{
		"$2b$31$" + strings.Repeat("a", 53),
		"$argon2id$v=19$m=1048576,t=1,p=1$" + salt + "$" + key,
		"$scrypt$ln=20,r=8,p=1$" + salt + "$" + key,
		"$pbkdf2-sha256$i=10000000$" + salt + "$" + key,
		"$6$rounds=999999999$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1",
	}
	var body strings.Builder
	for i, h := range costly {
		fmt.Fprintf(&body, `{"email":"costly-%d@import.example","password_hash":%q}`+"\n", i, h)
	}
	for i, r := range runImport(t, e, "create", []byte(body.String())) {
		if r.Status != "error" || r.Error["code"] != "invalid" {
			t.Errorf("%s: %+v", costly[i], r)
		}
	}
}

func TestImportRefusesImpossibleCreationTimes(t *testing.T) {
	e := startNative(t, testsupport.Options{})
	res := runImport(t, e, "create", []byte(`{"email":"old@import.example","created_at":"0001-01-01T00:00:00Z"}`+"\n"+
		`{"email":"future@import.example","created_at":"9999-01-01T00:00:00Z"}`+"\n"+
		`{"email":"fine@import.example","created_at":"2019-05-01T00:00:00Z"}`+"\n"))
	if res[0].Status != "error" || res[1].Status != "error" || res[2].Status != "created" {
		t.Fatalf("results: %+v", res)
	}
}

// An upload that goes silent ends the import; the whole lines that came
// before it are imported, and the last result line says why it ended.
func TestImportSilentUploadKeepsWhatCame(t *testing.T) {
	defer api.SetImportIdle(300 * time.Millisecond)()
	e := startNative(t, testsupport.Options{})
	pr, pw := io.Pipe()
	defer pw.Close()
	go func() {
		fmt.Fprint(pw, `{"email":"before-1@import.example"}`+"\n"+`{"email":"before-2@import.example"}`+"\n")
		time.Sleep(3 * time.Second) // then nothing, with the connection open
	}()
	req, err := http.NewRequest("POST", e.URL+"/v1/users/import", pr)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testsupport.AdminKey)
	req.Header.Set("Content-Type", "application/x-ndjson")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	lines := strings.Split(strings.TrimSpace(string(body)), "\n")
	if len(lines) != 3 || strings.Count(string(body), `"status":"created"`) != 2 ||
		!strings.Contains(lines[2], `"status":"aborted"`) || !strings.Contains(lines[2], "sent nothing for") {
		t.Fatalf("results:\n%s", body)
	}
	for _, email := range []string{"before-1@import.example", "before-2@import.example"} {
		if _, err := e.Store.GetUser(context.Background(), core.UserRef{Email: email}); err != nil {
			t.Fatalf("%s: %v", email, err)
		}
	}
}

func mustHash(t *testing.T, f password.Format, pw string) string {
	t.Helper()
	h, err := password.EncodeCheap(f, pw)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// An import of a million lines streams for longer than the server's read
// timeout allows a request; as long as lines keep coming, it goes on.
func TestImportOutlivesTheReadTimeout(t *testing.T) {
	e := startNative(t, testsupport.Options{ReadTimeout: 300 * time.Millisecond})
	const lines = 15
	pr, pw := io.Pipe()
	go func() {
		for i := 0; i < lines; i++ {
			fmt.Fprintf(pw, `{"email":"slow-%02d@import.example","username":"slow%02d"}`+"\n", i, i)
			time.Sleep(100 * time.Millisecond)
		}
		pw.Close()
	}()
	req, err := http.NewRequest("POST", e.URL+"/v1/users/import", pr)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testsupport.AdminKey)
	req.Header.Set("Content-Type", "application/x-ndjson")
	start := time.Now()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("reading results: %v", err)
	}
	if took := time.Since(start); took < time.Second {
		t.Fatalf("the upload took %s, not longer than the read timeout several times over", took)
	}
	created := strings.Count(string(body), `"status":"created"`)
	if res.StatusCode != 200 || created != lines {
		t.Fatalf("%s: %d of %d lines created:\n%s", res.Status, created, lines, body)
	}
}

// A batch is cut by its bytes as well as by its lines, so that a few
// hundred long lines are never held decoded at once: the results of the
// first long lines come back while the upload is still open. A line
// longer than any user can be is refused on its own, and the import goes on.
func TestImportCutsBatchesByBytes(t *testing.T) {
	defer api.SetImportBatchBytes(64 << 10)()
	e := startNative(t, testsupport.Options{})
	pw, next := pipedImport(t, e)
	long := strings.Repeat("x", 15<<10)
	for i := range 5 { // 75 KiB in all: past the batch's 64 KiB
		fmt.Fprintf(pw, `{"email":"long-%d@import.example","attributes":{"note":"%s"}}`+"\n", i, long)
	}
	if line := next(); !strings.Contains(line, `"line":1,"status":"created"`) {
		t.Fatalf("first result: %s", line)
	}
	fmt.Fprintf(pw, `{"email":"huge@import.example","name":"%s"}`+"\n", strings.Repeat("y", 65<<10))
	fmt.Fprintln(pw, `{"email":"after@import.example"}`)
	pw.Close()
	var rest []string
	for line := next(); line != ""; line = next() {
		rest = append(rest, line)
	}
	if len(rest) != 6 || !strings.Contains(rest[4], `"line":6,"status":"error"`) || !strings.Contains(rest[4], "longer than 65536 bytes") ||
		!strings.Contains(rest[5], `"line":7,"status":"created"`) {
		t.Fatalf("the rest of the results:\n%s", strings.Join(rest, "\n"))
	}
}

// Refused lines count against the batch's bytes too: their problems may
// quote them, and the batch holds its refusals until it is written.
func TestImportCutsBatchesOfRefusedLinesByBytes(t *testing.T) {
	defer api.SetImportBatchBytes(64 << 10)()
	e := startNative(t, testsupport.Options{})
	pw, next := pipedImport(t, e)
	long := strings.Repeat("x", 60<<10)
	for i := range 3 { // 180 KiB of unknown field names
		fmt.Fprintf(pw, `{"email":"u%d@import.example","%s%d":1}`+"\n", i, long, i)
	}
	line := next()
	if !strings.Contains(line, `"line":1,"status":"error"`) || !strings.Contains(line, "unknown_field") || len(line) > 1024 {
		t.Fatalf("first result (%d bytes): %.300s", len(line), line)
	}
	pw.Close()
}

// The line limit is the line's own length, without its line ending.
func TestImportLineLimitLeavesOutTheLineEnding(t *testing.T) {
	e := startNative(t, testsupport.Options{})
	line := func(email string, size int) string {
		head := `{"email":"` + email + `","name":"x"`
		return head + strings.Repeat(" ", size-len(head)-1) + "}"
	}
	body := line("lf@import.example", 64<<10) + "\n" + line("crlf@import.example", 64<<10) + "\r\n" +
		line("over@import.example", 64<<10+1) + "\n" + line("last@import.example", 64<<10)
	res := runImport(t, e, "create", []byte(body))
	if len(res) != 4 || res[0].Status != "created" || res[1].Status != "created" || res[2].Status != "error" ||
		res[2].Line != 3 || res[3].Status != "created" {
		t.Fatalf("results: %+v", res)
	}
	// Nor does a byte order mark before the first line count.
	res = runImport(t, e, "create", []byte("\xef\xbb\xbf"+line("bom@import.example", 64<<10)+"\n"))
	if len(res) != 1 || res[0].Status != "created" {
		t.Fatalf("a first line of 64 KiB after a byte order mark: %+v", res)
	}
}

// pipedImport starts an import whose body the test writes as it goes;
// next returns the next result line, or "" at the end, failing the test
// when none comes within 10 s.
func pipedImport(t *testing.T, e *nativeEnv) (body *io.PipeWriter, next func() string) {
	t.Helper()
	pr, pw := io.Pipe()
	t.Cleanup(func() { pw.Close() })
	req, err := http.NewRequest("POST", e.URL+"/v1/users/import", pr)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testsupport.AdminKey)
	req.Header.Set("Content-Type", "application/x-ndjson")
	lines, done := make(chan string), make(chan struct{})
	t.Cleanup(func() { close(done) }) // a test that stops reading early
	go func() {
		defer close(lines)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Error(err)
			return
		}
		defer res.Body.Close()
		sc := bufio.NewScanner(res.Body)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-done:
				return
			}
		}
	}()
	return pw, func() string {
		t.Helper()
		select {
		case line := <-lines:
			return line
		case <-time.After(10 * time.Second):
			t.Fatal("no result while the upload stays open: the batch waited for more lines")
			return ""
		}
	}
}

// failingMatch fails the import's look-ups of existing users from its
// second on: the database goes away in the middle of an import.
type failingMatch struct {
	store.Store
	calls atomic.Int32
}

func (f *failingMatch) MatchUsers(ctx context.Context, k store.UserKeys) ([]core.User, error) {
	if f.calls.Add(1) > 1 {
		return nil, core.Internal(errors.New("disk on fire"))
	}
	return f.Store.MatchUsers(ctx, k)
}

// When a batch cannot be written, the import stops with a last line that
// names the batch's first line: every line before it was imported, and
// none from it on.
func TestImportAbortNamesTheFirstLineNotImported(t *testing.T) {
	defer api.SetImportBatchBytes(100)()
	e := startNative(t, testsupport.Options{Store: &failingMatch{Store: testsupport.OpenSQLite(t)}})
	var body strings.Builder
	for i := range 4 { // two lines of some 60 bytes to a batch
		fmt.Fprintf(&body, `{"email":"abort-%d@import.example","name":"Abort %d"}`+"\n", i, i)
	}
	got := runImport(t, e, "create", []byte(body.String()))
	if len(got) != 3 || got[0].Status != "created" || got[1].Status != "created" || got[2].Status != "aborted" || got[2].Line != 3 {
		t.Fatalf("results: %+v", got)
	}
	for i, want := range []bool{true, true, false, false} {
		_, err := e.Store.GetUser(context.Background(), core.UserRef{Email: fmt.Sprintf("abort-%d@import.example", i)})
		if (err == nil) != want {
			t.Errorf("line %d imported: %v", i+1, err == nil)
		}
	}
}
