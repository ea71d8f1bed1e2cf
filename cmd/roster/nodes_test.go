package main

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"roster/internal/testsupport"
)

// node is a roster serve process.
type node struct {
	url string
	cmd *exec.Cmd
}

// buildRoster compiles the command once per test binary.
var buildRoster = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "roster-bin-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "roster")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})

func startNodes(t *testing.T, n int, dbURL, key string, env ...string) []*node {
	t.Helper()
	bin, err := buildRoster()
	if err != nil {
		t.Fatal(err)
	}
	// All nodes start at once on the empty database: they race to migrate
	// and to bootstrap, which must end with one provider, one admin, one key.
	var (
		nodes   []*node
		stderrs []io.Reader
	)
	for i := 0; i < n; i++ {
		cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--db", dbURL, "--password-memory", "64", "--password-time", "1")
		cmd.Env = append(append(os.Environ(), "ROSTER_BOOTSTRAP_API_KEY="+key), env...)
		stderr, err := cmd.StderrPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_ = cmd.Process.Signal(os.Interrupt)
			done := make(chan struct{})
			go func() { _ = cmd.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(15 * time.Second):
				_ = cmd.Process.Kill()
			}
		})
		nodes = append(nodes, &node{cmd: cmd})
		stderrs = append(stderrs, stderr)
	}
	for i, nd := range nodes {
		nd.url = waitListening(t, stderrs[i])
	}
	return nodes
}

var listeningRE = regexp.MustCompile(`addr=(http://[0-9.:]+)`)

func waitListening(t *testing.T, stderr io.Reader) string {
	t.Helper()
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sent := false
		for sc.Scan() {
			line := sc.Text()
			if m := listeningRE.FindStringSubmatch(line); m != nil && strings.Contains(line, "roster listening") && !sent {
				found <- m[1]
				sent = true
			}
			if strings.Contains(line, "level=ERROR") {
				t.Logf("node: %s", line)
			}
		}
	}()
	select {
	case u := <-found:
		return u
	case <-time.After(60 * time.Second):
		t.Fatal("a node did not start")
		return ""
	}
}

// TestThreeNodesOneDatabase runs three roster processes on one PostgreSQL
// database: uniqueness holds across them, nothing is lost or doubled, and
// each invitation's email goes out once although all three deliver mail.
func TestThreeNodesOneDatabase(t *testing.T) {
	key := "three-nodes-bootstrap-key-0123456789abcdef"
	smtp := testsupport.StartSMTP(t)
	nodes := startNodes(t, 3, testsupport.PostgresSchemaURL(t), key, "ROSTER_SMTP_URL="+smtp.URL(),
		"ROSTER_MAIL_FROM=roster <no-reply@cluster.example>")
	clients := make([]*testsupport.Client, len(nodes))
	for i, n := range nodes {
		clients[i] = testsupport.NewClient(t, n.url, nil).Bearer(key)
		clients[i].HTTP = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	}
	tenant := clients[0].Do("POST", "/v1/tenants", map[string]any{"name": "Cluster"}).Want(t, 201).Map(t)["id"].(string)
	var admins struct{ Items []map[string]any }
	clients[1].Do("GET", "/v1/users?q=admin", nil).Want(t, 200).JSON(t, &admins)
	var keys struct{ Items []map[string]any }
	clients[2].Do("GET", "/v1/api-keys", nil).Want(t, 200).JSON(t, &keys)
	if len(admins.Items) != 1 || len(keys.Items) != 1 {
		t.Fatalf("after a concurrent start: %d admin users and %d keys, want one of each", len(admins.Items), len(keys.Items))
	}

	t.Run("60 concurrent creates of one email", func(t *testing.T) {
		const n = 60
		statuses := make([]int, n)
		var wg sync.WaitGroup
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				statuses[i] = clients[i%len(clients)].Do("POST", "/v1/users",
					map[string]any{"email": "same@cluster.example", "tenant_id": tenant}).Status
			}(i)
		}
		wg.Wait()
		count := map[int]int{}
		for _, s := range statuses {
			count[s]++
		}
		if count[201] != 1 || count[409] != n-1 {
			t.Fatalf("statuses %v, want one 201 and %d 409", count, n-1)
		}
	})

	t.Run("1000 distinct creates", func(t *testing.T) {
		const n, workers = 1000, 24
		jobs := make(chan int)
		var (
			wg   sync.WaitGroup
			mu   sync.Mutex
			fail []string
		)
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				for i := range jobs {
					r := clients[i%len(clients)].Do("POST", "/v1/users",
						map[string]any{"email": fmt.Sprintf("member-%04d@cluster.example", i), "tenant_id": tenant})
					if r.Status != 201 {
						mu.Lock()
						fail = append(fail, fmt.Sprintf("%d: %d %s", i, r.Status, r.Body))
						mu.Unlock()
					}
				}
			}(w)
		}
		for i := 0; i < n; i++ {
			jobs <- i
		}
		close(jobs)
		wg.Wait()
		if len(fail) > 0 {
			t.Fatalf("%d creates failed, first: %s", len(fail), fail[0])
		}
		// Every node sees every user, once.
		for i, c := range clients {
			seen := map[string]int{}
			cursor := ""
			for {
				var page struct {
					Items      []map[string]any `json:"items"`
					NextCursor *string          `json:"next_cursor"`
				}
				c.Do("GET", "/v1/users?q=member-&limit=300&cursor="+cursor, nil).Want(t, 200).JSON(t, &page)
				for _, u := range page.Items {
					seen[u["email"].(string)]++
				}
				if page.NextCursor == nil {
					break
				}
				cursor = *page.NextCursor
			}
			if len(seen) != n {
				t.Fatalf("node %d sees %d users, want %d", i, len(seen), n)
			}
			for email, k := range seen {
				if k != 1 {
					t.Fatalf("node %d lists %s %d times", i, email, k)
				}
			}
		}
	})

	t.Run("one email per invitation", func(t *testing.T) {
		// 1,000 invitations above and the one winner of the race.
		const want = 1001
		smtp.WaitFor(t, want, 90*time.Second)
		time.Sleep(2 * time.Second) // a duplicate would arrive now
		perRecipient := map[string]int{}
		ids := map[string]bool{}
		for _, m := range smtp.Messages() {
			perRecipient[m.To[0]]++
			ids[m.MessageID] = true
		}
		if len(perRecipient) != want || len(ids) != want {
			t.Fatalf("%d recipients and %d Message-IDs, want %d each", len(perRecipient), len(ids), want)
		}
		for rcpt, k := range perRecipient {
			if k != 1 {
				t.Fatalf("%s got %d emails", rcpt, k)
			}
		}
	})
}
