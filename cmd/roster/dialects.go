package main

import (
	"log/slog"

	"roster/internal/compat"
	"roster/internal/compat/gpcn"
	"roster/internal/service"
)

// dialects builds every vendor dialect this binary serves.
func dialects(svc *service.Service, log *slog.Logger) []compat.Dialect {
	return []compat.Dialect{
		gpcn.New(svc, log),
	}
}
