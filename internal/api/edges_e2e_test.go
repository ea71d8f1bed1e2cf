package api_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"roster/internal/password"
	"roster/internal/testsupport"
)

// A client that gives up while its request waits for a hashing slot leaves
// its Idempotency-Key free: the retry with the same key runs the request
// (no user was made), rather than replay an empty answer.
func TestIdempotencyKeyOfARequestGivenUp(t *testing.T) {
	slow := password.Params{Memory: 8 << 10, Time: 8, Threads: 1}
	e := startNative(t, testsupport.Options{PoolSize: 1, HashMaxWait: 30 * time.Second, Params: &slow})
	tenant := e.tenant(t, "Acme")
	var busy sync.WaitGroup
	for range 4 { // the one hashing slot, busy for a while
		busy.Go(func() { _, _ = e.Pool.Hash(context.Background(), password.Interactive, "busy busy busy") })
	}
	time.Sleep(20 * time.Millisecond)
	body := []byte(`{"action":"register","email":"alice@acme.example","password":"correct horse battery staple","tenant_id":"` + tenant + `"}`)
	send := func(ctx context.Context) (*http.Response, error) {
		req, err := http.NewRequestWithContext(ctx, "POST", e.URL+"/v1/users", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+testsupport.AdminKey)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", "register-alice-1")
		return http.DefaultClient.Do(req)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	if res, err := send(ctx); err == nil {
		res.Body.Close()
		t.Skip("the request was answered before the client gave up")
	}
	cancel()
	busy.Wait()
	var res *http.Response
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		var err error
		if res, err = send(context.Background()); err != nil {
			t.Fatal(err)
		}
		if res.StatusCode != http.StatusConflict || time.Now().After(deadline) { // 409: the first still running
			break
		}
		res.Body.Close()
	}
	defer res.Body.Close()
	got, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("the retry: %d, replayed %q, body %q; want 201 and a user", res.StatusCode, res.Header.Get("Idempotent-Replayed"), got)
	}
}

// The body of a resend is optional: an empty one sent chunked (no
// Content-Length, as a streaming client or a proxy sends it) or one of
// white space is no body, not a malformed one.
func TestResendTakesAnEmptyBodyHoweverSent(t *testing.T) {
	e := startNative(t, testsupport.Options{})
	id := str(e.user(t, e.admin, map[string]any{"email": "bob@acme.example"}), "id")
	for _, body := range []io.Reader{io.MultiReader(), strings.NewReader(" \n")} {
		req, err := http.NewRequest("POST", e.URL+"/v1/users/"+id+"/invitations", body)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+testsupport.AdminKey)
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusCreated {
			t.Fatalf("resend with an empty body (%T): %d %s", body, res.StatusCode, got)
		}
	}
}
