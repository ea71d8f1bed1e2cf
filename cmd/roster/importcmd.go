package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	neturl "net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// importCommand uploads an NDJSON file to POST /v1/users/import and shows
// its progress; lines that fail are printed on stdout as the server
// reported them.
func importCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("roster import", flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := fs.String("url", envOr(getenv, "ROSTER_URL", "http://127.0.0.1:8080"), "roster's base URL (env ROSTER_URL)")
	mode := fs.String("mode", "create", "create (skip existing users) or upsert (update them)")
	fs.Usage = func() {
		fmt.Fprint(stderr, "usage: roster import [--url URL] [--mode create|upsert] FILE.ndjson\n\n"+
			"Uploads users, one JSON object per line (see POST /v1/users/import in /docs), with the API key\n"+
			"in ROSTER_API_KEY. Lines that fail are printed on stdout; progress goes to stderr. It exits 1\n"+
			"when any line was not imported, so that a script notices.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return errors.New("give one file")
	}
	key := getenv("ROSTER_API_KEY")
	if key == "" {
		return errors.New("set ROSTER_API_KEY to an API key that may import (a provider or tenant administrator's)")
	}
	f, err := os.Open(fs.Arg(0))
	if err != nil {
		return err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return err
	}
	body := newCountingReader(f)
	req, err := http.NewRequestWithContext(ctx, "POST", strings.TrimRight(*url, "/")+"/v1/users/import?mode="+neturl.QueryEscape(*mode), body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/x-ndjson")
	req.ContentLength = info.Size()

	progress := newProgress(stderr, info.Size())
	start := time.Now()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
		return fmt.Errorf("the server answered %s: %s", res.Status, strings.TrimSpace(string(msg)))
	}
	counts := map[string]int{}
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		var r struct {
			Status string `json:"status"`
		}
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return fmt.Errorf("unreadable result line: %q", sc.Text())
		}
		counts[r.Status]++
		if r.Status == "error" || r.Status == "aborted" {
			fmt.Fprintln(stdout, sc.Text())
		}
		progress.show(body.n.Load(), counts, false)
	}
	readErr := sc.Err()
	progress.show(body.n.Load(), counts, true)
	lines := counts["created"] + counts["updated"] + counts["skipped"] + counts["error"]
	if readErr != nil {
		// The connection broke (the server stopped, a proxy cut it): say
		// how far it got and what to do, as for an early end.
		return fmt.Errorf("the server answered %d of the lines sent before the connection broke (%v). "+
			"Run the import again: users already there are skipped", lines, readErr)
	}
	fmt.Fprintf(stderr, "%d lines in %s: %d created, %d updated, %d skipped, %d errors\n", lines,
		time.Since(start).Round(time.Millisecond), counts["created"], counts["updated"], counts["skipped"], counts["error"])
	if counts["aborted"] > 0 {
		return errors.New("the import was aborted; the lines before it were imported")
	}
	// A connection cut by a proxy or a timeout ends the results early
	// without an error line.
	if sent := body.lines(); lines < sent {
		return fmt.Errorf("the server answered %d of %d lines; the connection ended early. "+
			"Run the import again: users already there are skipped", lines, sent)
	}
	if counts["error"] > 0 {
		return fmt.Errorf("%d lines were not imported; they are printed above", counts["error"])
	}
	return nil
}

func envOr(getenv func(string) string, key, def string) string {
	if v := getenv(key); v != "" {
		return v
	}
	return def
}

// countingReader counts the bytes sent, for the progress bar, and the
// lines that are not blank, as the server counts them. The HTTP transport
// reads it on a goroutine of its own and closes it when the upload ends.
type countingReader struct {
	r    io.Reader
	n    atomic.Int64
	once sync.Once
	done chan struct{}

	full    int  // non-blank lines ended by a newline
	pending bool // the current line has something besides spaces
	// atStart counts the bytes read so far while they may still be a
	// byte order mark, which the server does not take for content.
	atStart int
}

// bom is UTF-8's byte order mark.
const bom = "\xef\xbb\xbf"

func newCountingReader(r io.Reader) *countingReader {
	return &countingReader{r: r, done: make(chan struct{})}
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	for _, b := range p[:n] {
		if c.atStart >= 0 {
			if c.atStart < len(bom) && b == bom[c.atStart] {
				c.atStart++
				continue
			}
			if c.atStart > 0 && c.atStart < len(bom) {
				c.pending = true // a mark begun but not finished is content
			}
			c.atStart = -1
		}
		switch b {
		case '\n':
			if c.pending {
				c.full++
			}
			c.pending = false
		case ' ', '\t', '\r':
		default:
			c.pending = true
		}
	}
	return n, err
}

// Close marks the upload over; the file is closed by its opener.
func (c *countingReader) Close() error {
	c.once.Do(func() { close(c.done) })
	return nil
}

// lines is the number of lines sent, once the transport is done with the
// upload.
func (c *countingReader) lines() int {
	<-c.done
	if c.pending || (c.atStart > 0 && c.atStart < len(bom)) {
		return c.full + 1
	}
	return c.full
}

// progress draws a bar on a terminal, or a line every few seconds
// elsewhere (a log, a pipe).
type progress struct {
	w        io.Writer
	total    int64
	terminal bool
	start    time.Time
	last     time.Time
}

func newProgress(w io.Writer, total int64) *progress {
	terminal := false
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			terminal = true
		}
	}
	return &progress{w: w, total: total, terminal: terminal, start: time.Now()}
}

func (p *progress) show(sent int64, counts map[string]int, final bool) {
	now := time.Now()
	every := 5 * time.Second
	if p.terminal {
		every = 100 * time.Millisecond
	}
	if !final && now.Sub(p.last) < every {
		return
	}
	p.last = now
	frac := 1.0
	if p.total > 0 {
		frac = float64(sent) / float64(p.total)
	}
	done := counts["created"] + counts["updated"] + counts["skipped"] + counts["error"]
	rate := float64(done) / max(now.Sub(p.start).Seconds(), 0.001)
	const width = 30
	bar := strings.Repeat("#", int(frac*width)) + strings.Repeat(".", width-int(frac*width))
	line := fmt.Sprintf("[%s] %5.1f%%  %d lines  %.0f/s  errors %d", bar, frac*100, done, rate, counts["error"])
	if p.terminal {
		fmt.Fprintf(p.w, "\r%s", line)
		if final {
			fmt.Fprintln(p.w)
		}
		return
	}
	fmt.Fprintln(p.w, line)
}
