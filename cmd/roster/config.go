package main

import (
	"flag"
	"fmt"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"time"

	"roster/internal/httpx"
)

// Config is everything roster serve can be told, from flags or ROSTER_*
// environment variables (a flag wins over its variable).
type Config struct {
	Addr             string
	DB               string
	BootstrapAPIKey  string
	ProviderName     string
	LogLevel         string
	LogFormat        string
	PasswordMemory   uint32 // KiB
	PasswordTime     uint32
	PasswordThreads  uint8
	HashPoolSize     int
	HashMaxWait      time.Duration
	PasswordPolicy   string
	InviteTTL        time.Duration
	SessionTTL       time.Duration
	SessionMaxAge    time.Duration
	RequireElevation bool
	ElevationTTL     time.Duration
	// AuthCacheTTL is how long a node remembers whom a key or session
	// stands for; negative turns the cache off (0 is never stored: the
	// default applies first).
	AuthCacheTTL    time.Duration
	RateLimit       int
	RateLimitWindow time.Duration
	// CompatListen maps a dialect name to an address where it is also
	// served at the root (for clients that cannot change their path).
	CompatListen map[string]string
	PublicURL    string
	// TrustedProxies are the reverse proxies whose X-Forwarded-For names
	// the client.
	TrustedProxies httpx.TrustedProxies
	DebugAddr      string
	// MemoryLimit is the Go runtime's soft memory limit in bytes; 0 sets
	// none.
	MemoryLimit int64
	// GCRoom is the least garbage, in bytes, the collector lets pile up
	// between collections (see keepGCRoom); 0 leaves Go's pacing alone.
	GCRoom       uint64
	SMTPURL      string
	MailFrom     string
	MailRetry    time.Duration
	MailRetryMax time.Duration
}

// setting describes one configuration value once, for the flag, the
// environment variable and the README's reference table.
type setting struct {
	flag, env, def, help string
	// flagless settings are secrets: a flag would show in ps.
	flagless bool
	set      func(c *Config, v string) error
}

func settings() []setting {
	return []setting{
		{flag: "addr", env: "ROSTER_ADDR", def: "127.0.0.1:8080", help: "address to listen on",
			set: func(c *Config, v string) error { c.Addr = v; return nil }},
		{flag: "db", env: "ROSTER_DB", def: "roster.db", help: "SQLite file path, or a postgres:// URL",
			set: func(c *Config, v string) (err error) { c.DB, err = checkDB(v); return err }},
		{env: "ROSTER_BOOTSTRAP_API_KEY", flagless: true, help: "API key (32+ characters) given to the built-in admin while the database has no key; otherwise a random one is printed once",
			set: func(c *Config, v string) error { c.BootstrapAPIKey = v; return nil }},
		{flag: "provider-name", env: "ROSTER_PROVIDER_NAME", def: "roster", help: "name of the provider created on an empty database",
			set: func(c *Config, v string) error { c.ProviderName = v; return nil }},
		{flag: "log-level", env: "ROSTER_LOG_LEVEL", def: "info", help: "debug, info, warn or error",
			set: func(c *Config, v string) error { c.LogLevel = v; return oneOf(v, "debug", "info", "warn", "error") }},
		{flag: "log-format", env: "ROSTER_LOG_FORMAT", def: "text", help: "text or json",
			set: func(c *Config, v string) error { c.LogFormat = v; return oneOf(v, "text", "json") }},
		{flag: "password-memory", env: "ROSTER_PASSWORD_MEMORY_KIB", def: "19456", help: "argon2id memory per hash, KiB (at most 262144, with m·t at most 2^20)",
			set: func(c *Config, v string) error {
				return parseUint(v, 32, func(n uint64) { c.PasswordMemory = uint32(n) })
			}},
		{flag: "password-time", env: "ROSTER_PASSWORD_TIME", def: "2", help: "argon2id passes",
			set: func(c *Config, v string) error {
				return parseUint(v, 32, func(n uint64) { c.PasswordTime = uint32(n) })
			}},
		{flag: "password-threads", env: "ROSTER_PASSWORD_THREADS", def: "1", help: "argon2id parallelism",
			set: func(c *Config, v string) error {
				return parseUint(v, 8, func(n uint64) { c.PasswordThreads = uint8(n) })
			}},
		{flag: "hash-pool-size", env: "ROSTER_HASH_POOL_SIZE", def: "GOMAXPROCS", help: "password hashes run at once; memory for hashing stays under (this + 1) × password-memory",
			set: func(c *Config, v string) error {
				if v == "GOMAXPROCS" {
					c.HashPoolSize = runtime.GOMAXPROCS(0)
					return nil
				}
				n, err := strconv.Atoi(v)
				if err != nil || n < 1 {
					return fmt.Errorf("must be a positive integer")
				}
				c.HashPoolSize = n
				return nil
			}},
		{flag: "hash-max-wait", env: "ROSTER_HASH_MAX_WAIT", def: "2s", help: "longest wait for a hashing slot before answering 503 with Retry-After",
			set: func(c *Config, v string) error { return parseDuration(v, &c.HashMaxWait) }},
		{flag: "password-policy", env: "ROSTER_PASSWORD_POLICY", def: "nist", help: "default password policy: nist (SP 800-63B) or complex (12–50, upper, lower, digit, special)",
			set: func(c *Config, v string) error { c.PasswordPolicy = v; return oneOf(v, "nist", "complex") }},
		{flag: "invite-ttl", env: "ROSTER_INVITE_TTL", def: "72h", help: "how long invitations stay valid, unless the tenant or request says otherwise",
			set: func(c *Config, v string) error { return parseDuration(v, &c.InviteTTL) }},
		{flag: "session-ttl", env: "ROSTER_SESSION_TTL", def: "12h", help: "how long a login session lasts",
			set: func(c *Config, v string) error { return parseDuration(v, &c.SessionTTL) }},
		{flag: "session-max-age", env: "ROSTER_SESSION_MAX_AGE", def: "24h", help: "how long after its login a session may be refreshed to (ECE _refresh)",
			set: func(c *Config, v string) error { return parseDuration(v, &c.SessionMaxAge) }},
		{flag: "require-elevation", env: "ROSTER_REQUIRE_ELEVATION", def: "false", help: "granting provider-admin (to a user or an API key), deleting users and changing another provider-admin's password, email, username or status need an elevation (ECE _elevate)",
			set: func(c *Config, v string) error {
				b, err := strconv.ParseBool(v)
				c.RequireElevation = b
				return err
			}},
		{flag: "elevation-ttl", env: "ROSTER_ELEVATION_TTL", def: "10m", help: "how long an elevation lasts",
			set: func(c *Config, v string) error { return parseDuration(v, &c.ElevationTTL) }},
		{flag: "auth-cache-ttl", env: "ROSTER_AUTH_CACHE_TTL", def: "1s", help: "how long a node remembers whom an API key or session token stands for, and the tenants it creates users in; changes made on the same node apply at once, on other nodes within this time; 0 turns both caches off",
			set: func(c *Config, v string) error {
				if d, err := time.ParseDuration(v); err == nil && d == 0 {
					c.AuthCacheTTL = -1
					return nil
				}
				return parseDuration(v, &c.AuthCacheTTL)
			}},
		{flag: "rate-limit", env: "ROSTER_RATE_LIMIT", def: "1000", help: "requests one API key may make per rate-limit window on surfaces that limit requests (the GPCN dialect); counted per process",
			set: func(c *Config, v string) error {
				return parseUint(v, 31, func(n uint64) { c.RateLimit = int(n) })
			}},
		{flag: "rate-limit-window", env: "ROSTER_RATE_LIMIT_WINDOW", def: "1m", help: "the window of --rate-limit",
			set: func(c *Config, v string) error { return parseDuration(v, &c.RateLimitWindow) }},
		{flag: "trusted-proxies", env: "ROSTER_TRUSTED_PROXIES", help: "comma-separated addresses or CIDR prefixes of reverse proxies in front of roster: from them, X-Forwarded-For says who the client is (for per-address login throttling and logs); from anyone else it is ignored",
			set: func(c *Config, v string) error {
				t, err := httpx.ParseTrustedProxies(v)
				c.TrustedProxies = t
				return err
			}},
		{flag: "public-url", env: "ROSTER_PUBLIC_URL", help: "where people reach roster's pages; links in emails start with it (default: http:// and the listen address)",
			set: func(c *Config, v string) error {
				u, err := url.Parse(v)
				if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" ||
					strings.HasSuffix(v, "?") || strings.HasSuffix(v, "#") {
					return fmt.Errorf("must be an http or https URL without query or fragment, such as https://id.example.com")
				}
				c.PublicURL = strings.TrimRight(v, "/")
				return nil
			}},
		{env: "ROSTER_SMTP_URL", flagless: true, help: "mail server, as smtp://user:pass@host:587 (STARTTLS when offered; ?starttls=required to insist, ?starttls=opportunistic for the default; any other starttls value is refused) or smtps://user:pass@host:465; without it, emails stay in the outbox (roster mail list, GET /v1/outbox)",
			set: func(c *Config, v string) error { c.SMTPURL = v; return nil }},
		{flag: "mail-from", env: "ROSTER_MAIL_FROM", def: "roster <no-reply@localhost>", help: "sender of roster's emails",
			set: func(c *Config, v string) error { c.MailFrom = v; return nil }},
		{flag: "mail-retry", env: "ROSTER_MAIL_RETRY", def: "2s", help: "wait before the first retry of an email that could not be sent; it doubles with each failure",
			set: func(c *Config, v string) error { return parseDuration(v, &c.MailRetry) }},
		{flag: "mail-retry-max", env: "ROSTER_MAIL_RETRY_MAX", def: "10m", help: "longest wait between two attempts to send an email",
			set: func(c *Config, v string) error { return parseDuration(v, &c.MailRetryMax) }},
		{flag: "memory-limit", env: "ROSTER_MEMORY_LIMIT", def: "none", help: "soft memory limit of the process in MiB (as GOMEMLIMIT, which wins when set); near it the garbage collector works harder, trading CPU for memory",
			set: func(c *Config, v string) error {
				if v == "none" {
					c.MemoryLimit = 0
					return nil
				}
				return parseUint(v, 20, func(n uint64) { c.MemoryLimit = int64(n) << 20 })
			}},
		{flag: "gc-room", env: "ROSTER_GC_ROOM", def: "16", help: "the least garbage, in MiB, the garbage collector lets pile up between two collections (more when the live heap is larger, as GOGC has it): fewer collections for that much memory; none leaves Go's pacing alone, and GOGC, when set, wins",
			set: func(c *Config, v string) error {
				if v == "none" {
					c.GCRoom = 0
					return nil
				}
				return parseUint(v, 20, func(n uint64) { c.GCRoom = n << 20 })
			}},
		{flag: "debug-addr", env: "ROSTER_DEBUG_ADDR", help: "serve Go's profiler (net/http/pprof) on this address, e.g. 127.0.0.1:6060; keep it off public networks",
			set: func(c *Config, v string) error { c.DebugAddr = v; return nil }},
		{flag: "compat-listen", env: "ROSTER_COMPAT_LISTEN", help: "also serve a dialect at the root of its own listener, as name=host:port (e.g. ece=127.0.0.1:9201); repeat the flag, or comma-separate in the variable",
			set: func(c *Config, v string) error {
				c.CompatListen = map[string]string{}
				for _, item := range strings.Split(v, ",") {
					name, addr, ok := strings.Cut(strings.TrimSpace(item), "=")
					if !ok || name == "" || addr == "" {
						return fmt.Errorf("%q is not name=host:port", item)
					}
					if _, dup := c.CompatListen[name]; dup {
						return fmt.Errorf("dialect %s is given twice", name)
					}
					for other, taken := range c.CompatListen {
						// Port 0 asks for a port of its own each time.
						if taken == addr && !strings.HasSuffix(addr, ":0") {
							return fmt.Errorf("dialects %s and %s are given one address, %s: each needs its own", other, name, addr)
						}
					}
					c.CompatListen[name] = addr
				}
				return nil
			}},
	}
}

// multiFlag collects a repeatable flag as one comma-separated value.
type multiFlag struct{ values []string }

func (m *multiFlag) String() string     { return strings.Join(m.values, ",") }
func (m *multiFlag) Set(v string) error { m.values = append(m.values, v); return nil }

func oneOf(v string, allowed ...string) error {
	for _, a := range allowed {
		if v == a {
			return nil
		}
	}
	return fmt.Errorf("must be one of %s", strings.Join(allowed, ", "))
}

func parseUint(v string, bits int, set func(uint64)) error {
	n, err := strconv.ParseUint(v, 10, bits)
	if err != nil || n == 0 {
		return fmt.Errorf("must be a positive integer")
	}
	set(n)
	return nil
}

func parseDuration(v string, dst *time.Duration) error {
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return fmt.Errorf("must be a positive duration such as 90s, 15m or 72h")
	}
	*dst = d
	return nil
}

// loadConfig applies defaults, then the environment, then flags.
func loadConfig(fs *flag.FlagSet, args []string, getenv func(string) string) (Config, error) {
	var c Config
	values := map[string]*string{}
	repeated := map[string]*multiFlag{"compat-listen": {}}
	for _, s := range settings() {
		switch {
		case s.flagless:
		case repeated[s.flag] != nil:
			fs.Var(repeated[s.flag], s.flag, s.help+" (env "+s.env+")")
		default:
			values[s.flag] = fs.String(s.flag, "", s.help+" (env "+s.env+", default "+s.def+")")
		}
	}
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	for name, m := range repeated {
		if len(m.values) > 0 {
			v := m.String()
			values[name] = &v
		}
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	for _, s := range settings() {
		v, from := s.def, "default"
		if e := getenv(s.env); e != "" {
			v, from = e, s.env
		}
		if p := values[s.flag]; p != nil && *p != "" {
			v, from = *p, "--"+s.flag
		}
		if v == "" && (s.flagless || s.def == "") {
			continue
		}
		if err := s.set(&c, v); err != nil {
			return c, fmt.Errorf("%s: %w", from, err)
		}
	}
	return c, nil
}

// configReference renders the settings as the README's Markdown table.
func configReference() string {
	var b strings.Builder
	b.WriteString("| Flag | Environment | Default | Meaning |\n|---|---|---|---|\n")
	for _, s := range settings() {
		flagName := "—"
		if !s.flagless {
			flagName = "`--" + s.flag + "`"
		}
		def := "—"
		if s.def != "" {
			def = "`" + s.def + "`"
		}
		fmt.Fprintf(&b, "| %s | `%s` | %s | %s |\n", flagName, s.env, def, s.help)
	}
	return b.String()
}
