package api

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"sync/atomic"
	"time"

	"roster/internal/core"
	"roster/internal/httpx"
	"roster/internal/service"
)

// importLine is one input line of POST /v1/users/import.
type importLine struct {
	ID             string           `json:"id"`
	Number         int64            `json:"number"`
	ExternalID     *string          `json:"external_id"`
	Email          *string          `json:"email"`
	Username       *string          `json:"username"`
	Name           *string          `json:"name"`
	FirstName      *string          `json:"first_name"`
	LastName       *string          `json:"last_name"`
	Phone          *string          `json:"phone"`
	Lang           *string          `json:"lang"`
	Status         *core.UserStatus `json:"status"`
	EmailConfirmed *bool            `json:"email_confirmed"`
	Password       string           `json:"password"`
	PasswordHash   string           `json:"password_hash"`
	TenantID       string           `json:"tenant_id"`
	Roles          []string         `json:"roles"`
	Attributes     map[string]any   `json:"attributes"`
	CreatedAt      *time.Time       `json:"created_at"`
}

// importResultJSON is one output line.
type importResultJSON struct {
	Line   int      `json:"line"`
	Status string   `json:"status"`
	ID     string   `json:"id,omitempty"`
	Number int64    `json:"number,omitempty"`
	Reason string   `json:"reason,omitempty"`
	Error  *Problem `json:"error,omitempty"`
}

const (
	importBatch = 500
	// A line holds one user: its attributes are at most 16 KiB and its hash
	// 4 KiB, so no valid line comes near this.
	maxImportLine = 64 << 10
)

// importBatchBytes cuts a batch short when its lines add up to this many
// bytes: decoded, a line of JSON takes several times its size (an array
// of numbers, a dozen), and a batch is held whole. A variable, for tests.
var importBatchBytes = 4 << 20

// importIdle is how long an import may go without sending a byte. The
// server's read timeout bounds whole requests, and a large import streams
// for longer, so its deadline moves on as it goes. A variable, for tests.
var importIdle = 2 * time.Minute

// importUsers streams NDJSON in and results out: lines are read in batches,
// each batch goes to the service, and its results are written and flushed
// before the next batch is read, so neither side is ever held whole. A bad
// line is reported and the import goes on.
func (a *API) importUsers(w http.ResponseWriter, r *http.Request, p *core.Principal) error {
	mode := service.ImportMode(r.URL.Query().Get("mode"))
	if mode == "" {
		mode = service.ImportCreate
	}
	if mode != service.ImportCreate && mode != service.ImportUpsert {
		return core.FieldInvalid("mode", "invalid", "must be create or upsert")
	}
	if err := a.svc.MayImport(p); err != nil {
		return err
	}
	rc := http.NewResponseController(w)
	// Results flow back while the body is still arriving.
	_ = rc.EnableFullDuplex()
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_ = rc.Flush() // the client sees the import begin before its first results
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	// When the server begins to shut down, the read in progress ends at
	// once (its deadline set to now, and no longer moved on): the batch
	// read so far is imported and the stream ends saying where to go on.
	var stopping atomic.Bool
	extend := func() {
		if !stopping.Load() {
			_ = rc.SetReadDeadline(time.Now().Add(importIdle))
			if stopping.Load() {
				_ = rc.SetReadDeadline(time.Now()) // the watcher came in between
			}
		}
	}
	extend()
	watchDone := make(chan struct{})
	defer close(watchDone)
	go func() {
		select {
		case <-a.svc.Stopping():
			stopping.Store(true)
			_ = rc.SetReadDeadline(time.Now())
		case <-watchDone:
		}
	}()
	// The server's write timeout bounds ordinary answers; an import's
	// results flow for as long as its lines do, each write given as long
	// as a line may take to come.
	writing := func() { _ = rc.SetWriteDeadline(time.Now().Add(importIdle)) }
	writing()
	in := bufio.NewReaderSize(&deadlineReader{r: r.Body, extend: extend}, 64<<10)
	// A byte order mark some editors write is no part of the first line
	// (nor of its length).
	if start, _ := in.Peek(len(byteOrderMark)); bytes.Equal(start, byteOrderMark) {
		_, _ = in.Discard(len(byteOrderMark))
	}
	var (
		items   []service.ImportItem
		invalid []importResultJSON
		line    int
		held    int // bytes of the lines in items
		first   = 1 // the batch's first line: every line before it is answered
		counts  = map[string]int{}
	)
	flush := func(ctx context.Context) error {
		results, err := a.svc.ImportUsers(ctx, p, mode, items)
		if err != nil {
			return err
		}
		out := append(invalid, make([]importResultJSON, 0, len(results))...)
		for _, res := range results {
			o := importResultJSON{Line: res.Line, Status: res.Status, ID: res.ID, Number: res.Number, Reason: res.Reason}
			if res.Error != nil {
				o.Error = problemOf(r, res.Error)
			}
			out = append(out, o)
		}
		sortByLine(out)
		writing()
		for _, o := range out {
			counts[o.Status]++
			if err := enc.Encode(o); err != nil {
				return err
			}
		}
		clear(items) // let the batch's decoded lines be collected
		items, invalid, held, first = items[:0], invalid[:0], 0, line+1
		return rc.Flush()
	}
	for {
		raw, err := readLine(in)
		if err != nil && stopping.Load() && !errors.Is(err, io.EOF) {
			// Cut short by the shutdown: a line not read whole is not
			// imported, nor counted.
			raw, err = nil, errServerStopping
		}
		if err == nil || len(raw) > 0 || errors.Is(err, errLineTooLong) {
			// Every line of the file counts, blank ones too, so that a
			// result's number is the line an editor shows.
			line++
		}
		// Blank is what JSON calls white space; roster import counts
		// lines the same way.
		if len(bytes.Trim(raw, " \t\r")) > 0 || errors.Is(err, errLineTooLong) {
			var l importLine
			switch {
			case errors.Is(err, errLineTooLong):
				invalid = append(invalid, importResultJSON{Line: line, Status: "error",
					Error: problemOf(r, core.Errorf(core.CodeTooLarge, "the line is longer than %d bytes", maxImportLine))})
			default:
				// A refused line's problem may quote it (an unknown
				// field's name): it counts against the batch's bytes too.
				if derr := httpx.DecodeJSONBytes(raw, &l, true); derr != nil {
					invalid = append(invalid, importResultJSON{Line: line, Status: "error", Error: problemOf(r, derr)})
				} else {
					items = append(items, l.item(line))
				}
				held += len(raw)
			}
		}
		if len(items)+len(invalid) >= importBatch || held >= importBatchBytes || (err != nil && !errors.Is(err, errLineTooLong)) {
			ctx := r.Context()
			if err != nil && !errors.Is(err, io.EOF) {
				// The upload broke off, and the server may have cancelled
				// the request with it: the whole lines that came before
				// are imported all the same, as they would have been had
				// the break come after the next batch.
				ctx = context.WithoutCancel(ctx)
			}
			if ferr := flush(ctx); ferr != nil {
				// The status line is gone; the failure ends the stream. No
				// line of the batch was imported: the abort names its first.
				writing()
				_ = enc.Encode(importResultJSON{Line: first, Status: "aborted", Error: problemOf(r, ferr)})
				a.log.WarnContext(r.Context(), "import aborted", "line", first, "error", ferr)
				return nil
			}
		}
		if err != nil && !errors.Is(err, errLineTooLong) {
			switch {
			case errors.Is(err, errServerStopping):
				writing()
				_ = enc.Encode(importResultJSON{Line: line + 1, Status: "aborted",
					Error: problemOf(r, &core.Error{Code: core.CodeUnavailable, RetryAfter: 1,
						Message: "the server is shutting down; the lines before were imported: run the import again to go on (users already there are skipped)"})})
			case !errors.Is(err, io.EOF):
				reason := "the upload broke off: " + err.Error()
				if errors.Is(err, os.ErrDeadlineExceeded) {
					reason = fmt.Sprintf("the upload sent nothing for %s", importIdle)
				}
				writing()
				_ = enc.Encode(importResultJSON{Line: line, Status: "aborted",
					Error: problemOf(r, &core.Error{Code: core.CodeMalformed, Message: reason + "; the lines before were imported"})})
			}
			break
		}
	}
	a.log.InfoContext(r.Context(), "import finished", "lines", line, "created", counts["created"], "updated", counts["updated"],
		"skipped", counts["skipped"], "errors", counts["error"], "actor", p.Actor())
	return nil
}

// item converts a line, noting which optional fields it gave: an upsert
// keeps the stored values of the others.
func (l importLine) item(line int) service.ImportItem {
	it := service.ImportItem{Line: line, ID: l.ID, Number: l.Number, Password: l.Password, PasswordHash: l.PasswordHash,
		TenantID: l.TenantID, Roles: l.Roles, Attributes: l.Attributes, CreatedAt: l.CreatedAt}
	str := func(f service.ImportFields, dst *string, src *string) {
		if src != nil {
			*dst = *src
			it.Given |= f
		}
	}
	str(service.GivenExternalID, &it.ExternalID, l.ExternalID)
	str(service.GivenEmail, &it.Email, l.Email)
	str(service.GivenUsername, &it.Username, l.Username)
	str(service.GivenName, &it.Name, l.Name)
	str(service.GivenFirstName, &it.FirstName, l.FirstName)
	str(service.GivenLastName, &it.LastName, l.LastName)
	str(service.GivenPhone, &it.Phone, l.Phone)
	str(service.GivenLang, &it.Lang, l.Lang)
	if l.Status != nil {
		it.Status, it.Given = *l.Status, it.Given|service.GivenStatus
	}
	if l.EmailConfirmed != nil {
		it.EmailConfirmed, it.Given = *l.EmailConfirmed, it.Given|service.GivenEmailConfirmed
	}
	return it
}

// deadlineReader moves the read deadline on at most once a second, as
// data arrives.
type deadlineReader struct {
	r      io.Reader
	extend func()
	last   time.Time
}

func (d *deadlineReader) Read(p []byte) (int, error) {
	n, err := d.r.Read(p)
	if now := time.Now(); n > 0 && now.Sub(d.last) > time.Second {
		d.last = now
		d.extend()
	}
	return n, err
}

// byteOrderMark is UTF-8's, which some editors put at a file's start.
var byteOrderMark = []byte("\xef\xbb\xbf")

var (
	errLineTooLong    = errors.New("line too long")
	errServerStopping = errors.New("the server is shutting down")
)

// readLine returns the next line without its newline; a line over the
// limit is skipped to its end and reported as errLineTooLong.
func readLine(r *bufio.Reader) ([]byte, error) {
	var buf []byte
	for {
		chunk, err := r.ReadSlice('\n')
		// The limit is the line's, without the "\r\n" that may end it.
		if len(buf)+len(chunk) > maxImportLine+len("\r\n") {
			for errors.Is(err, bufio.ErrBufferFull) {
				_, err = r.ReadSlice('\n')
			}
			if err != nil && !errors.Is(err, io.EOF) {
				return nil, err
			}
			return nil, errLineTooLong
		}
		buf = append(buf, chunk...)
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		line := bytes.TrimRight(buf, "\r\n")
		if len(line) > maxImportLine {
			if err != nil && !errors.Is(err, io.EOF) {
				return nil, err
			}
			return nil, errLineTooLong
		}
		return line, err
	}
}

func sortByLine(rs []importResultJSON) {
	slices.SortStableFunc(rs, func(a, b importResultJSON) int { return a.Line - b.Line })
}

// problemOf renders an error as the problem body of one result line.
func problemOf(r *http.Request, err error) *Problem {
	ce := core.AsError(err)
	status := Status(ce)
	detail := ce.Message
	if ce.Code == core.CodeInternal {
		detail = "an internal error occurred; quote the request id when reporting it"
	}
	var fields []core.FieldError
	for _, f := range ce.Fields {
		f.Field = nativeField(f.Field)
		fields = append(fields, f)
	}
	return &Problem{Type: "/docs#problem-" + string(ce.Code), Title: http.StatusText(status), Status: status,
		Detail: detail, Code: ce.Code, Errors: fields, RequestID: httpx.RequestID(r.Context())}
}
