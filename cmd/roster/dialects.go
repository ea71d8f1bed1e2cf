package main

import (
	"log/slog"

	"roster/internal/compat"
	"roster/internal/compat/ece"
	"roster/internal/compat/everlytic"
	"roster/internal/compat/gcore"
	"roster/internal/compat/gpcn"
	"roster/internal/service"
)

// dialects builds every vendor dialect this binary serves.
func dialects(svc *service.Service, log *slog.Logger) []compat.Dialect {
	return []compat.Dialect{
		ece.New(svc, log),
		everlytic.New(svc, log),
		gcore.New(svc, log),
		gpcn.New(svc, log),
	}
}
