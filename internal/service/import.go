package service

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"roster/internal/core"
	"roster/internal/password"
	"roster/internal/store"
)

// ImportItem is one user of a bulk import, as another system had it.
type ImportItem struct {
	// Line is the item's place in the input, echoed in its result.
	Line       int
	ID         string // kept when given (a UUID)
	Number     int64  // kept when given (the integer id Gcore and Everlytic see)
	ExternalID string
	Email      string
	Username   string
	Name       string
	FirstName  string
	LastName   string
	Phone      string
	Lang       string
	// Status is active (the default), invited or disabled. Imported
	// users get no invitation email; resend one to those who need it.
	Status         core.UserStatus
	EmailConfirmed bool
	// Password is plaintext, hashed here at a lower priority than
	// interactive requests; PasswordHash is a PHC or MCF string from the
	// other system, stored as it is and replaced on the first login.
	Password     string
	PasswordHash string
	TenantID     string
	Roles        []string
	Attributes   map[string]any
	CreatedAt    *time.Time
	// Given says which of the optional fields the line gave: an upsert
	// changes those and keeps the matched user's values of the others.
	// Roles and Attributes are given when not nil.
	Given ImportFields
}

// ImportFields is a set of an import line's optional fields.
type ImportFields uint16

const (
	GivenExternalID ImportFields = 1 << iota
	GivenEmail
	GivenUsername
	GivenName
	GivenFirstName
	GivenLastName
	GivenPhone
	GivenLang
	GivenStatus
	GivenEmailConfirmed
)

// MaxUserNumber is the largest number an import may give a user, 2^52:
// the numbers drawn after it (each new user takes the next) stay within
// 2^53−1, the largest integer a JSON client reads exactly, for 2^52 more
// users, which never come.
const MaxUserNumber = 1 << 52

// ImportMode says what happens to an item that matches an existing user.
type ImportMode string

const (
	// ImportCreate skips existing users.
	ImportCreate ImportMode = "create"
	// ImportUpsert updates them.
	ImportUpsert ImportMode = "upsert"
)

// ImportResult is the outcome of one item.
type ImportResult struct {
	Line   int
	Status string // created, updated, skipped or error
	ID     string
	Number int64
	Reason string      // for skipped
	Error  *core.Error // for error
}

// MaxImportBatch bounds how many items one ImportUsers call takes.
const MaxImportBatch = 1000

// prepared is an item that passed validation, ready to write.
type prepared struct {
	item          ImportItem
	res           *ImportResult
	user          core.User
	existing      *core.User
	providerRoles []string
	tenantRoles   []string
	hash          string
	// number is what the write assigned; pr.user keeps what was asked, so
	// that a batch rolled back and retried item by item starts afresh.
	number int64
	// rolesGiven is false when the line left roles out: a new user gets
	// the default, an updated one keeps its own.
	rolesGiven bool
}

// emailChanged reports whether the line gives the existing user another
// email.
func (pr *prepared) emailChanged() bool {
	return pr.existing != nil && emailChanged(*pr.existing, pr.user)
}

// revokesAccess reports whether updating the existing user ends its
// sessions and reset links, as UpdateUser's same change would.
func (pr *prepared) revokesAccess() bool {
	return pr.existing != nil && accessChanged(*pr.existing, pr.user, pr.hash != "")
}

// MayImport refuses, before any line is read, a caller whose every line
// would be refused: one who manages no tenant and is no provider
// administrator.
func (s *Service) MayImport(p *core.Principal) error {
	if isProviderAdmin(p) || len(tenantsWhere(p, func(r core.Role) bool { return r.Manage })) > 0 {
		return nil
	}
	return forbidden("importing users takes managing a tenant")
}

// ImportUsers imports a batch of users: each is validated by the rules of
// user creation, matched against existing users by id, external id, email
// and username, then created, updated (upsert) or skipped. The batch is
// written in one transaction; if the database refuses it, every item is
// retried on its own so that one bad item costs only itself.
func (s *Service) ImportUsers(ctx context.Context, p *core.Principal, mode ImportMode, items []ImportItem) ([]ImportResult, error) {
	if mode == "" {
		mode = ImportCreate
	}
	if mode != ImportCreate && mode != ImportUpsert {
		return nil, core.FieldInvalid("mode", "invalid", "must be create or upsert")
	}
	if len(items) > MaxImportBatch {
		return nil, core.FieldInvalid("items", "too_many", fmt.Sprintf("at most %d items per batch", MaxImportBatch))
	}
	results := make([]ImportResult, len(items))
	tenants := map[string]*core.Tenant{}
	var preps []*prepared
	seen := map[string]int{} // identifiers within the batch → line
	for i, it := range items {
		results[i] = ImportResult{Line: it.Line}
		pr, err := s.prepareImport(ctx, p, it, tenants)
		if err != nil {
			results[i].Status, results[i].Error = "error", core.AsError(err)
			continue
		}
		var dup *core.Error
		for _, key := range pr.keys() {
			if line, ok := seen[key]; ok && dup == nil {
				field := strings.SplitN(key, ":", 2)[0]
				msg := fmt.Sprintf("line %d has the same %s", line, field)
				dup = &core.Error{Code: core.CodeConflict, Message: msg,
					Fields: []core.FieldError{{Field: field, Code: "duplicate", Message: msg}}}
			}
		}
		if dup != nil {
			results[i].Status, results[i].Error = "error", dup
			continue
		}
		for _, key := range pr.keys() {
			seen[key] = it.Line
		}
		pr.res = &results[i]
		preps = append(preps, pr)
	}
	if err := s.matchExisting(ctx, p, mode, preps, tenants); err != nil {
		return nil, err
	}
	requireLogin(preps)
	if err := s.hashImported(ctx, preps); err != nil {
		return nil, err
	}
	var todo []*prepared
	for _, pr := range preps {
		if pr.res.Status == "" {
			todo = append(todo, pr)
		}
	}
	if len(todo) == 0 {
		return results, nil
	}
	var err error
	for {
		err = s.inTx(ctx, func(tx store.Tx) error { return s.writeBatch(ctx, tx, todo) })
		var changed *usersChangedError
		if !errors.As(err, &changed) {
			break
		}
		for _, pr := range changed.items {
			pr.res.Status, pr.res.Error = "error", errUserChanged
		}
		if todo = slices.DeleteFunc(todo, func(pr *prepared) bool { return pr.res.Status != "" }); len(todo) == 0 {
			return results, nil
		}
	}
	if err == nil {
		for _, pr := range todo {
			pr.done()
		}
		return results, nil
	}
	if ctx.Err() != nil || core.ErrorCode(err) == core.CodeUnavailable {
		return nil, err
	}
	// One item spoiled the batch: write each on its own.
	for _, pr := range todo {
		err := s.inTx(ctx, func(tx store.Tx) error { return s.writeImported(ctx, tx, pr) })
		switch {
		case err == nil:
			pr.done()
		case ctx.Err() != nil || core.ErrorCode(err) == core.CodeUnavailable:
			return nil, err
		default:
			pr.res.Status, pr.res.Error = "error", core.AsError(err)
			if pr.res.Error.Code == core.CodeInternal {
				s.log.ErrorContext(ctx, "import item failed", "line", pr.item.Line, "error", err)
				pr.res.Error = core.Errorf(core.CodeInternal, "internal error")
			}
		}
	}
	return results, nil
}

func (pr *prepared) done() {
	pr.res.ID, pr.res.Number = pr.user.ID, pr.number
	pr.res.Status = "created"
	if pr.existing != nil {
		pr.res.Status = "updated"
	}
}

// keys are the item's unique identifiers, to catch duplicates in a batch.
func (pr *prepared) keys() []string {
	var out []string
	u := pr.user
	if pr.item.ID != "" {
		out = append(out, "id:"+u.ID)
	}
	if u.ExternalID != "" {
		out = append(out, "external_id:"+u.ExternalID)
	}
	if u.Email != "" {
		out = append(out, "email:"+core.NormalizeEmail(u.Email))
	}
	if u.Username != "" {
		out = append(out, "username:"+core.NormalizeUsername(u.Username))
	}
	if pr.item.Number != 0 {
		out = append(out, fmt.Sprint("number:", u.Number))
	}
	return out
}

// prepareImport applies the rules of user creation to one item.
func (s *Service) prepareImport(ctx context.Context, p *core.Principal, it ImportItem, tenants map[string]*core.Tenant) (*prepared, error) {
	v := &core.Validation{}
	var tenant *core.Tenant
	switch {
	case it.TenantID != "":
		if !checkID(v, "tenant_id", it.TenantID) {
			return nil, v.Err()
		}
		if !canManageTenant(p, it.TenantID) {
			return nil, forbidden("you may not add users to this tenant")
		}
		t, ok := tenants[it.TenantID]
		if !ok {
			got, err := s.store.GetTenant(ctx, core.TenantRef{ID: it.TenantID})
			if err != nil && core.ErrorCode(err) != core.CodeNotFound {
				return nil, err
			}
			if err == nil {
				t = &got
			}
			tenants[it.TenantID] = t
		}
		if t == nil || t.Status != core.TenantActive {
			return nil, core.FieldInvalid("tenant_id", "not_found", "no such active tenant")
		}
		tenant = t
	case !isProviderAdmin(p):
		return nil, forbidden("only provider administrators import users outside a tenant")
	}
	roles := it.Roles
	if roles == nil && tenant != nil {
		roles = []string{core.RoleTenantUser}
	}
	providerRoles, tenantRoles, err := splitRoles(roles, tenant != nil)
	if err != nil {
		return nil, err
	}
	tenantID := ""
	if tenant != nil {
		tenantID = tenant.ID
	}
	for i, r := range roles {
		role, _ := core.LookupRole(r)
		if err := checkGrant(p, tenantID, role, fmt.Sprintf("roles[%d]", i)); err != nil {
			return nil, err
		}
	}
	if err := memberNeedsRole(tenant, tenantRoles); err != nil {
		return nil, err
	}
	if slices.Contains(providerRoles, core.RoleProviderAdmin) {
		// As in POST /v1/users, where elevation is required.
		if err := s.requireElevation(p); err != nil {
			return nil, err
		}
	}
	// Every text is trimmed, as a create or an update through the API trims it.
	it.Email, it.Username = strings.TrimSpace(it.Email), strings.TrimSpace(it.Username)
	it.Phone, it.Lang, it.ExternalID = strings.TrimSpace(it.Phone), strings.TrimSpace(it.Lang), strings.TrimSpace(it.ExternalID)
	if it.ID != "" {
		checkID(v, "id", it.ID)
	}
	if it.Number != 0 && !isProviderAdmin(p) {
		// Numbers are drawn from one sequence for the whole provider.
		return nil, forbidden("only provider administrators give users their numbers")
	}
	if it.Number < 0 || it.Number > MaxUserNumber {
		v.Add("number", "invalid", fmt.Sprintf("must be between 1 and %d", int64(MaxUserNumber)))
	}
	checkEmail(v, "email", it.Email, false)
	checkUsername(v, "username", it.Username)
	if it.Email == "" && it.Username == "" && it.ID == "" && it.ExternalID == "" {
		// A line with an id or external id may update a user it matches
		// without naming its login; one that makes a user must (see
		// requireLogin).
		v.Add("email", "required", "an email or a username is required")
	}
	checkText(v, "name", it.Name, maxName)
	checkText(v, "first_name", it.FirstName, maxName)
	checkText(v, "last_name", it.LastName, maxName)
	checkPhone(v, "phone", it.Phone)
	checkLang(v, "lang", it.Lang)
	checkText(v, "external_id", it.ExternalID, maxCustomID)
	checkAttributes(v, "attributes", it.Attributes)
	if it.CreatedAt != nil && (it.CreatedAt.Before(time.Unix(0, 0)) || it.CreatedAt.After(s.now().Add(24*time.Hour))) {
		v.Add("created_at", "invalid", "must be after 1970 and not in the future")
	}
	status := it.Status
	switch status {
	case "":
		status = core.UserActive
	case core.UserActive, core.UserInvited, core.UserDisabled:
	default:
		v.Add("status", "invalid", "must be active, invited or disabled")
	}
	switch {
	case it.Password != "" && it.PasswordHash != "":
		v.Add("password", "conflict", "give password or password_hash, not both")
	case it.PasswordHash != "":
		if _, err := password.Identify(it.PasswordHash); err != nil {
			v.Add("password_hash", "invalid", err.Error())
		}
	case it.Password != "":
		s.checkPassword(v, "password", it.Password, "", tenant, it.Email, it.Username)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	now := s.now()
	created := now
	if it.CreatedAt != nil {
		created = it.CreatedAt.UTC().Truncate(time.Microsecond)
	}
	id := it.ID
	if id == "" {
		id = core.NewID()
	}
	u := core.User{ID: id, Number: it.Number, ExternalID: it.ExternalID, Email: it.Email, Username: it.Username,
		Name: strings.TrimSpace(it.Name), FirstName: strings.TrimSpace(it.FirstName), LastName: strings.TrimSpace(it.LastName),
		Phone: it.Phone, Lang: it.Lang, Type: core.UserTypeCommon, Status: status, EmailConfirmed: it.EmailConfirmed,
		AuthTypes: []string{"password"}, SecurityRealm: "native", Attributes: it.Attributes,
		CreatedAt: created, UpdatedAt: now, CreatedBy: p.Actor(), UpdatedBy: p.Actor()}
	if u.Name == "" {
		u.Name = strings.TrimSpace(u.FirstName + " " + u.LastName)
	}
	if u.Lang == "" {
		u.Lang = core.Languages[0]
	}
	if tenant != nil {
		u.Memberships = []core.Membership{{TenantID: tenant.ID, TenantNumber: tenant.Number, TenantName: tenant.Name, TenantStatus: tenant.Status,
			UserID: u.ID, Roles: core.NormalizeRoles(tenantRoles), CreatedAt: now}}
	}
	return &prepared{item: it, user: u, providerRoles: core.NormalizeRoles(providerRoles), tenantRoles: tenantRoles,
		hash: it.PasswordHash, rolesGiven: it.Roles != nil}, nil
}

// matchExisting finds, in one query, the users the batch names, and decides
// for each item: create it, update the one it matches (upsert), skip it
// (create mode), or refuse it when it matches two different users, a user
// p may not see or change (the rules of UpdateUser), or one whose id or
// number differs from the line's. tenants are those the batch's lines
// read, which the password checks of updates share.
func (s *Service) matchExisting(ctx context.Context, p *core.Principal, mode ImportMode, preps []*prepared,
	tenants map[string]*core.Tenant) error {
	if len(preps) == 0 {
		return nil
	}
	var k store.UserKeys
	for _, pr := range preps {
		if pr.item.ID != "" {
			k.IDs = append(k.IDs, pr.user.ID)
		}
		if pr.user.ExternalID != "" {
			k.ExternalIDs = append(k.ExternalIDs, pr.user.ExternalID)
		}
		if pr.user.Email != "" {
			k.Emails = append(k.Emails, pr.user.Email)
		}
		if pr.user.Username != "" {
			k.Usernames = append(k.Usernames, pr.user.Username)
		}
	}
	found, err := s.store.MatchUsers(ctx, k)
	if err != nil {
		return err
	}
	if len(found) == 0 {
		return nil
	}
	byKey := map[string]*core.User{}
	for i := range found {
		u := &found[i]
		byKey["id:"+u.ID] = u
		if u.ExternalID != "" {
			byKey["external_id:"+u.ExternalID] = u
		}
		if u.Status != core.UserDeleted {
			if u.Email != "" {
				byKey["email:"+core.NormalizeEmail(u.Email)] = u
			}
			if u.Username != "" {
				byKey["username:"+core.NormalizeUsername(u.Username)] = u
			}
		}
	}
	updatedBy := map[string]int{} // matched user's id → the line updating it
	for _, pr := range preps {
		var match *core.User
		conflict, hidden := false, false
		for _, key := range pr.keys() {
			if u := byKey[key]; u != nil {
				if match != nil && match.ID != u.ID {
					conflict = true
				}
				hidden = hidden || !canReadUser(p, *u)
				match = u
			}
		}
		// The first line to name a user claims it, whatever becomes of
		// that line: which of two lines for one user should win is not for
		// the import to guess.
		claimed := 0
		if match != nil && !hidden && !conflict && mode == ImportUpsert {
			if claimed = updatedBy[match.ID]; claimed == 0 {
				updatedBy[match.ID] = pr.item.Line
			}
		}
		switch {
		case match == nil:
		case hidden:
			// Saying no more than a create would ("already taken"): not
			// the user's id, number or state, nor whether two of the
			// line's keys belong to one user.
			pr.res.Status, pr.res.Error = "error", core.Errorf(core.CodeConflict, "matches an existing user outside your tenants")
		case conflict:
			pr.res.Status, pr.res.Error = "error", &core.Error{Code: core.CodeConflict,
				Message: "the item matches two different existing users"}
		case mode == ImportCreate:
			pr.res.Status, pr.res.ID, pr.res.Number, pr.res.Reason = "skipped", match.ID, match.Number, "exists"
		case match.Builtin || match.Status == core.UserDeleted:
			pr.res.Status, pr.res.Error = "error", core.Errorf(core.CodeConflict, "matches a %s user, which an import does not change",
				map[bool]string{true: "built-in", false: "deleted"}[match.Builtin])
		case !canManageUser(p, *match):
			pr.res.Status, pr.res.Error = "error", forbidden("matches a user you may not change")
		case pr.item.ID != "" && pr.item.ID != match.ID:
			pr.res.Status, pr.res.Error = "error", core.FieldInvalid("id", "conflict",
				"the line's id differs from that of the user it matches by another key")
		case pr.item.Number != 0 && pr.item.Number != match.Number:
			pr.res.Status, pr.res.Error = "error", core.FieldInvalid("number", "conflict",
				"the line's number differs from that of the user it matches")
		case claimed != 0:
			pr.res.Status, pr.res.Error = "error", core.Errorf(core.CodeConflict,
				"line %d matches the same existing user", claimed)
		default:
			if err := pr.mergeInto(*match); err != nil {
				pr.res.Status, pr.res.Error = "error", err
				continue
			}
			if err := s.takeoverNeedsElevation(p, *match, pr.changes(*match), match.ID == p.UserID); err != nil {
				pr.res.Status, pr.res.Error = "error", core.AsError(err)
				continue
			}
			refused, err := s.checkMergedPassword(ctx, pr, tenants)
			if err != nil {
				return err
			}
			if refused != nil {
				pr.res.Status, pr.res.Error = "error", refused
			}
		}
	}
	return nil
}

// checkMergedPassword checks a line's plaintext password for an existing
// user against what the user will be: its email and username, which the
// line may have left out, and the policy of every tenant it will belong to
// (checkUserPassword), the line's tenant included. The check made while
// preparing the line saw only the line. It returns the line's refusal, or
// an error that should stop the import.
func (s *Service) checkMergedPassword(ctx context.Context, pr *prepared, tenants map[string]*core.Tenant) (*core.Error, error) {
	if pr.item.Password == "" {
		return nil, nil
	}
	will := *pr.existing
	will.Email, will.Username = pr.user.Email, pr.user.Username
	v := &core.Validation{}
	if err := s.checkUserPassword(ctx, v, "password", pr.item.Password, "", will, pr.item.TenantID, tenants); err != nil {
		return nil, err
	}
	if err := v.Err(); err != nil {
		return core.AsError(err), nil
	}
	return nil, nil
}

// requireLogin refuses the items that would leave a user with neither an
// email nor a username: a new user from a line that named neither (only
// its id or external id, which matched nobody), or an update whose line
// emptied both; and those that would give a user a username of dots alone.
func requireLogin(preps []*prepared) {
	for _, pr := range preps {
		switch {
		case pr.res.Status != "":
		case pr.user.Email == "" && pr.user.Username == "":
			pr.res.Status, pr.res.Error = "error", core.FieldInvalid("email", "required", "an email or a username is required")
		case onlyDots(pr.user.Username) && (pr.existing == nil || pr.existing.Username != pr.user.Username):
			// As checkNewUsername: a username kept from before the rule
			// may stay, as through an update.
			pr.res.Status, pr.res.Error = "error", core.FieldInvalid("username", "invalid", dotsOnly)
		}
	}
}

// mergeInto makes the item an update of existing: what the line gave
// replaces the stored values, and what it left out keeps them, as a PATCH
// would; the user's id, number, creation and login history stay. A line
// that a PATCH would refuse is refused, and the item left as it was.
func (pr *prepared) mergeInto(existing core.User) *core.Error {
	u, g := &pr.user, pr.item.Given
	getsPassword := pr.item.Password != "" || pr.item.PasswordHash != ""
	status, email := existing.Status, existing.Email
	if g&GivenStatus != 0 {
		status = u.Status
	}
	if g&GivenEmail != 0 {
		email = u.Email
	}
	switch {
	case g&GivenStatus != 0 && status == core.UserInvited && existing.Status != core.UserInvited:
		return core.FieldInvalid("status", "invalid", "an existing user cannot become invited; send an invitation through the API")
	case g&GivenStatus != 0 && status == core.UserInvited && getsPassword:
		return core.FieldInvalid("status", "invalid", "a user given a password is not invited; leave status out, or make it active")
	case status == core.UserActive && existing.Status == core.UserInvited && !getsPassword:
		return core.FieldInvalid("status", "invalid", "an invited user becomes active by accepting the invitation or by getting a password")
	case existing.Status == core.UserInvited && email == "":
		return core.FieldInvalid("email", "required", "an invited user needs an email, to accept the invitation")
	}
	attributes := existing.Attributes
	if pr.item.Attributes != nil {
		// Merged key by key, as PATCH does: a null removes the key.
		attributes = mergeAttributes(existing.Attributes, pr.item.Attributes)
		v := &core.Validation{}
		if checkAttributes(v, "attributes", attributes); v.Err() != nil {
			return core.AsError(v.Err())
		}
	}
	pr.existing = &existing
	u.Attributes = attributes
	keep := func(f ImportFields, dst *string, stored string) {
		if g&f == 0 {
			*dst = stored
		}
	}
	keep(GivenExternalID, &u.ExternalID, existing.ExternalID)
	keep(GivenEmail, &u.Email, existing.Email)
	keep(GivenUsername, &u.Username, existing.Username)
	keep(GivenFirstName, &u.FirstName, existing.FirstName)
	keep(GivenLastName, &u.LastName, existing.LastName)
	keep(GivenPhone, &u.Phone, existing.Phone)
	keep(GivenLang, &u.Lang, existing.Lang)
	keep(GivenName, &u.Name, existing.Name)
	// A name made of the first and last names follows them; one given on
	// its own stays, as in an update through the API.
	if g&GivenName == 0 && g&(GivenFirstName|GivenLastName) != 0 &&
		(existing.Name == "" || existing.Name == strings.TrimSpace(existing.FirstName+" "+existing.LastName)) {
		u.Name = strings.TrimSpace(u.FirstName + " " + u.LastName)
	}
	if g&GivenStatus == 0 {
		u.Status = existing.Status
		// A password completes an invited user's account.
		if getsPassword && u.Status == core.UserInvited {
			u.Status = core.UserActive
		}
	}
	if g&GivenEmailConfirmed == 0 {
		u.EmailConfirmed = existing.EmailConfirmed
		// The old address's confirmation says nothing of a new one.
		if emailChanged(existing, *u) {
			u.EmailConfirmed = false
		}
	}
	u.ID, u.Number, u.CreatedAt, u.CreatedBy = existing.ID, existing.Number, existing.CreatedAt, existing.CreatedBy
	u.FirstLoginAt, u.LastLoginAt, u.TwoFA = existing.FirstLoginAt, existing.LastLoginAt, existing.TwoFA
	u.Type, u.AuthTypes, u.SecurityRealm = existing.Type, existing.AuthTypes, existing.SecurityRealm
	// A tenant line's roles are the membership's: the user's provider
	// roles change only with a line that names one, or has no tenant.
	if !pr.rolesGiven || (len(u.Memberships) > 0 && len(pr.providerRoles) == 0) {
		pr.providerRoles = existing.ProviderRoles
	}
	for i := range u.Memberships {
		m := &u.Memberships[i]
		m.UserID = existing.ID
		if pr.rolesGiven {
			continue
		}
		for _, em := range existing.Memberships {
			if em.TenantID == m.TenantID {
				m.Roles, m.CreatedAt = em.Roles, em.CreatedAt
			}
		}
	}
	return nil
}

// usersChangedError is a batch's write refused because users it updates
// changed after they were matched; the batch is written again without them.
type usersChangedError struct{ items []*prepared }

func (e *usersChangedError) Error() string { return "users changed while the import ran" }

var errUserChanged = core.Errorf(core.CodeConflict, "the user changed while the import ran; import the line again")

// changes describes, as an update would give them, what the merged line
// changes of existing that hands an account over: its password, email,
// username and status (only whether they change matters).
func (pr *prepared) changes(existing core.User) UpdateUserInput {
	var in UpdateUserInput
	u := pr.user
	if pr.item.Password != "" || pr.hash != "" {
		in.Password = &pr.item.Password
	}
	if emailChanged(existing, u) {
		in.Email = &u.Email
	}
	if core.NormalizeUsername(u.Username) != core.NormalizeUsername(existing.Username) {
		in.Username = &u.Username
	}
	if u.Status != existing.Status {
		in.Status = &u.Status
	}
	return in
}

// recheckMatches reads again, inside the write's transaction, the users
// the items update, and refuses the items whose user changed since
// matchExisting decided on it: the decision that the caller may change the
// user (and the values merged into the update) came from a read made
// before the hashes ran, seconds earlier under load. The users are locked
// first, so that no change lands between this read and the commit: on
// SQLite the write transaction holds that already; on PostgreSQL another
// node could otherwise change a user's memberships in that moment.
func recheckMatches(ctx context.Context, tx store.Tx, todo []*prepared) error {
	var ids []string
	for _, pr := range todo {
		if pr.existing != nil {
			ids = append(ids, pr.existing.ID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	if err := tx.LockUsers(ctx, ids); err != nil {
		return err
	}
	now, err := tx.MatchUsers(ctx, store.UserKeys{IDs: ids})
	if err != nil {
		return err
	}
	byID := make(map[string]*core.User, len(now))
	for i := range now {
		byID[now[i].ID] = &now[i]
	}
	var changed []*prepared
	for _, pr := range todo {
		if pr.existing == nil {
			continue
		}
		u := byID[pr.existing.ID]
		// The same row version, and the same access.
		if u == nil || !u.UpdatedAt.Equal(pr.existing.UpdatedAt) || !sameAccess(*pr.existing, *u) {
			changed = append(changed, pr)
			continue
		}
		// A login leaves the row version as it was: the times come from
		// this read, or the update would write back those of the first.
		pr.user.FirstLoginAt, pr.user.LastLoginAt = u.FirstLoginAt, u.LastLoginAt
	}
	if len(changed) > 0 {
		return &usersChangedError{items: changed}
	}
	return nil
}

// hashImported hashes plaintext passwords in the pool at background
// priority, so that a large import never starves people logging in.
func (s *Service) hashImported(ctx context.Context, preps []*prepared) error {
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	for _, pr := range preps {
		if pr.res.Status != "" || pr.item.Password == "" {
			continue
		}
		wg.Add(1)
		go func(pr *prepared) {
			defer wg.Done()
			h, err := s.pool.Hash(ctx, password.Background, pr.item.Password)
			mu.Lock()
			defer mu.Unlock()
			if err != nil && firstErr == nil {
				firstErr = err
			}
			pr.hash = h
		}(pr)
	}
	wg.Wait()
	return firstErr
}

// writeBatch writes a batch in a few statements, the new users together
// and the updated ones together: one round trip per user would bound a
// PostgreSQL import by latency.
func (s *Service) writeBatch(ctx context.Context, tx store.Tx, todo []*prepared) error {
	if err := recheckMatches(ctx, tx, todo); err != nil {
		return err
	}
	var (
		created, updated []store.NewUser
		owners           []*prepared
		revoke           []string
		moved            []*prepared
	)
	for _, pr := range todo {
		u := pr.user // a copy: this function may run again after a rollback
		u.ProviderRoles = pr.providerRoles
		if pr.existing != nil {
			updated = append(updated, store.NewUser{User: &u, PasswordHash: pr.hash})
			pr.number = u.Number
			if pr.revokesAccess() {
				revoke = append(revoke, u.ID)
			}
			if pr.emailChanged() {
				moved = append(moved, pr)
			}
			continue
		}
		created = append(created, store.NewUser{User: &u, PasswordHash: pr.hash})
		owners = append(owners, pr)
	}
	if err := tx.UpdateUsers(ctx, updated); err != nil {
		return err
	}
	if err := tx.RevokeSessionsAndResets(ctx, revoke, s.now()); err != nil {
		return err
	}
	for _, pr := range moved {
		// As UpdateUser: a link sent to the old address must not open
		// the account, nor mail not yet sent go there.
		if err := leaveAddress(ctx, tx, pr.user.ID, pr.existing.Email, s.now()); err != nil {
			return err
		}
	}
	if err := tx.CreateUsers(ctx, created); err != nil {
		return err
	}
	for i, nu := range created {
		owners[i].number = nu.User.Number
	}
	return nil
}

// writeImported writes one item the way the rest of the service writes a
// user, so that a failure names what clashed.
func (s *Service) writeImported(ctx context.Context, tx store.Tx, pr *prepared) error {
	if err := recheckMatches(ctx, tx, []*prepared{pr}); err != nil {
		if errors.As(err, new(*usersChangedError)) {
			return errUserChanged
		}
		return err
	}
	u := pr.user
	if pr.existing == nil {
		if err := tx.CreateUser(ctx, &u); err != nil {
			return err
		}
	} else if err := tx.UpdateUser(ctx, u); err != nil {
		return err
	}
	pr.number = u.Number
	if len(pr.providerRoles) > 0 || pr.existing != nil {
		if err := tx.SetProviderRoles(ctx, u.ID, pr.providerRoles); err != nil {
			return err
		}
	}
	for _, m := range u.Memberships {
		if err := tx.PutMembership(ctx, m); err != nil {
			return err
		}
	}
	if pr.hash != "" {
		if err := tx.PutCredential(ctx, core.Credential{UserID: u.ID, Hash: pr.hash, UpdatedAt: u.UpdatedAt}); err != nil {
			return err
		}
	}
	if pr.emailChanged() {
		if err := leaveAddress(ctx, tx, u.ID, pr.existing.Email, s.now()); err != nil {
			return err
		}
	}
	if pr.revokesAccess() {
		return tx.RevokeSessionsAndResets(ctx, []string{u.ID}, s.now())
	}
	return nil
}
