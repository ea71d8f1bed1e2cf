package gpcn

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"roster/internal/core"
	"roster/internal/httpx"
)

// GPCN pages by number: page (from 1) and limit (1–100, default 10).
const (
	defaultLimit = 10
	maxLimit     = 100
	maxPage      = 10_000_000
)

type pageQuery struct {
	page, limit int
}

func (pq pageQuery) offset() int { return (pq.page - 1) * pq.limit }

// parsePage reads page and limit, recording problems in v.
func parsePage(q url.Values, v *core.Validation) pageQuery {
	pq := pageQuery{page: 1, limit: defaultLimit}
	if s := q.Get("page"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxPage {
			v.Add("page", "invalid", "must be a whole number from 1")
		} else {
			pq.page = n
		}
	}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxLimit {
			v.Add("limit", "out_of_range", "must be a whole number from 1 to 100")
		} else {
			pq.limit = n
		}
	}
	return pq
}

// pageMeta is GPCN's meta of a list.
type pageMeta struct {
	Total           int  `json:"total"`
	Page            int  `json:"page"`
	PageSize        int  `json:"pageSize"`
	TotalPages      int  `json:"totalPages"`
	HasNextPage     bool `json:"hasNextPage"`
	HasPreviousPage bool `json:"hasPreviousPage"`
}

func newMeta(total int, pq pageQuery) pageMeta {
	pages := (total + pq.limit - 1) / pq.limit
	return pageMeta{Total: total, Page: pq.page, PageSize: pq.limit, TotalPages: pages,
		HasNextPage: pq.page < pages, HasPreviousPage: pq.page > 1}
}

// pageOf cuts one page out of a list that the service returned whole.
func pageOf[T any](items []T, pq pageQuery) []T {
	start := min(pq.offset(), len(items))
	end := min(start+pq.limit, len(items))
	return items[start:end]
}

// multi reads a repeated query parameter, accepting name and name[]
// (?inviteStatus=a&inviteStatus=b, ?inviteStatus[]=a) and comma-separated
// values.
func multi(q url.Values, name string) []string {
	var out []string
	for _, v := range append(q[name], q[name+"[]"]...) {
		for _, part := range strings.Split(v, ",") {
			if part = strings.TrimSpace(part); part != "" {
				out = append(out, part)
			}
		}
	}
	return out
}

// decode reads a JSON body. GPCN ignores members it does not know, and so
// does the dialect.
func decode(r *http.Request, dst any) error {
	body, err := httpx.ReadBody(r)
	if err != nil {
		return err
	}
	return httpx.DecodeJSONBytes(body, dst, false)
}

// pathUser reads a user id from the path; anything that is not a UUID names
// nobody.
func pathUser(r *http.Request, name string) (core.UserRef, error) {
	id := r.PathValue(name)
	if !core.ValidID(id) {
		return core.UserRef{}, core.Errorf(core.CodeNotFound, "User not found")
	}
	return core.UserRef{ID: id}, nil
}

func itoa(n int) string { return strconv.Itoa(n) }
