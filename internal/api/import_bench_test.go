package api

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"testing"

	"roster/internal/httpx"
)

// BenchmarkImportParse is the edge's share of an import: splitting NDJSON
// into lines and decoding each into a service item, for lines like those
// `roster seed --out` writes (a pre-hashed password, names, an id).
func BenchmarkImportParse(b *testing.B) {
	var file bytes.Buffer
	const lines = 10_000
	for i := range lines {
		fmt.Fprintf(&file, `{"id":"01a2074a-c540-7bae-97f8-%012x","email":"user%d@example.com","username":"user%d",`+
			`"name":"User %d","first_name":"User","last_name":"%d","status":"active","email_confirmed":true,`+
			`"password_hash":"$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g"}`+"\n",
			i, i, i, i, i)
	}
	data := file.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		in := bufio.NewReaderSize(bytes.NewReader(data), 64<<10)
		n := 0
		for {
			raw, err := readLine(in)
			if len(raw) > 0 {
				var l importLine
				if derr := httpx.DecodeJSONBytes(raw, &l, true); derr != nil {
					b.Fatal(derr)
				}
				n++
				_ = l.item(n)
			}
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
		}
		if n != lines {
			b.Fatalf("parsed %d lines, want %d", n, lines)
		}
	}
	b.ReportMetric(float64(lines*b.N)/b.Elapsed().Seconds(), "lines/s")
}
