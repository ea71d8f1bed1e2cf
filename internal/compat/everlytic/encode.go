package everlytic

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"net/http"
	"strconv"
	"strings"
)

// The answers. Every one is a JSON object; in XML it is a <response>
// element with the same members as child elements, lists as repeated
// elements (<links><link>…</link></links>, <collection><item>…</item>
// </collection>).

type itemEnvelope[T any] struct {
	XMLName xml.Name `json:"-" xml:"response"`
	Links   []link   `json:"links" xml:"links>link"`
	Item    T        `json:"item" xml:"item"`
}

type listEnvelope[T any] struct {
	XMLName    xml.Name    `json:"-" xml:"response"`
	Links      []link      `json:"links" xml:"links>link"`
	Collection []T         `json:"collection" xml:"-"`
	XMLItems   xmlItems[T] `json:"-" xml:"collection"`
}

// xmlItems keeps <collection></collection> present when it is empty.
type xmlItems[T any] struct {
	Items []T `xml:"item"`
}

func newList[T any](links []link, items []T) listEnvelope[T] {
	if items == nil {
		items = []T{}
	}
	return listEnvelope[T]{Links: links, Collection: items, XMLItems: xmlItems[T]{Items: items}}
}

type homeEnvelope struct {
	XMLName xml.Name `json:"-" xml:"response"`
	Links   []link   `json:"links" xml:"links>link"`
}

type errorEnvelope struct {
	XMLName xml.Name  `json:"-" xml:"response"`
	Error   errorBody `json:"error" xml:"error"`
}

type errorBody struct {
	Message string `json:"message" xml:"message"`
}

// Media types roster answers in, in its order of preference.
const (
	typeJSON    = "application/json"
	typeXML     = "application/xml"
	typeTextXML = "text/xml"
)

var offers = []string{typeJSON, typeXML, typeTextXML}

// negotiate picks the media type of the answer from the Accept header
// (RFC 9110, section 12.5.1): for each type roster offers, the quality of
// the most specific range that matches it; the highest quality wins, then
// the type named most specifically, then roster's order (JSON first).
// With no Accept header, or none of the offers acceptable, the answer is
// JSON: an error in a format the client can read beats a bare 406.
func negotiate(accept string) string {
	if strings.TrimSpace(accept) == "" {
		return typeJSON
	}
	type rangeQ struct {
		typ, sub string
		q        float64
	}
	var ranges []rangeQ
	for _, part := range strings.Split(accept, ",") {
		params := strings.Split(part, ";")
		mt := strings.ToLower(strings.TrimSpace(params[0]))
		typ, sub, ok := strings.Cut(mt, "/")
		if !ok || typ == "" || sub == "" {
			continue
		}
		q := 1.0
		for _, p := range params[1:] {
			k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
			if strings.EqualFold(strings.TrimSpace(k), "q") {
				f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
				if err != nil || f < 0 || f > 1 {
					f = 0
				}
				q = f
			}
		}
		ranges = append(ranges, rangeQ{typ, sub, q})
	}
	best, bestQ, bestSpec := typeJSON, 0.0, -1
	for _, offer := range offers {
		typ, sub, _ := strings.Cut(offer, "/")
		q, spec := 0.0, -1
		for _, r := range ranges {
			s := -1
			switch {
			case r.typ == typ && r.sub == sub:
				s = 2
			case r.typ == typ && r.sub == "*":
				s = 1
			case r.typ == "*" && r.sub == "*":
				s = 0
			}
			if s > spec {
				q, spec = r.q, s
			}
		}
		if q > bestQ || (q == bestQ && q > 0 && spec > bestSpec) {
			best, bestQ, bestSpec = offer, q, spec
		}
	}
	if bestQ == 0 {
		return typeJSON
	}
	return best
}

// write encodes v in the negotiated format.
func write(w http.ResponseWriter, r *http.Request, status int, v any) {
	w.Header().Add("Vary", "Accept")
	mt := negotiate(r.Header.Get("Accept"))
	var buf bytes.Buffer
	if mt == typeJSON {
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			mt, status = typeJSON, http.StatusInternalServerError
			buf.Reset()
			buf.WriteString(`{"error":{"message":"the answer could not be encoded"}}` + "\n")
		}
		w.Header().Set("Content-Type", mt)
	} else {
		buf.WriteString(xml.Header)
		if err := xml.NewEncoder(&buf).Encode(v); err != nil {
			status = http.StatusInternalServerError
			buf.Reset()
			buf.WriteString(xml.Header + "<response><error><message>the answer could not be encoded</message></error></response>")
		}
		buf.WriteByte('\n')
		w.Header().Set("Content-Type", mt+"; charset=utf-8")
	}
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(buf.Bytes())
	}
}
