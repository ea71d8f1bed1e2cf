package service

import (
	"context"

	"roster/internal/core"
	"roster/internal/mail"
	"roster/internal/store"
)

// link builds an absolute URL to one of roster's pages.
func (s *Service) link(path string) string { return s.cfg.PublicURL + path }

// outboxMessage renders an email for the outbox. It runs inside the
// transaction that makes what the email announces, so that both exist or
// neither does.
func (s *Service) outboxMessage(kind, lang, recipient string, d mail.Data) (core.OutboxMessage, error) {
	subject, err := mail.Subject(kind, lang, d)
	if err != nil {
		return core.OutboxMessage{}, core.Internal(err)
	}
	data, err := mail.EncodeData(d)
	if err != nil {
		return core.OutboxMessage{}, core.Internal(err)
	}
	now := s.now()
	id := core.NewID()
	return core.OutboxMessage{ID: id, Kind: kind, MessageID: id + "@" + s.cfg.MailDomain, Recipient: recipient,
		Subject: subject, Lang: lang, Data: data, CreatedAt: now, NextAttemptAt: now}, nil
}

// enqueueInvitation writes the invitation and its email in tx.
func (s *Service) enqueueInvitation(ctx context.Context, tx store.Tx, p *core.Principal, u core.User, tenant *core.Tenant, iss issued) error {
	m, err := s.invitationMessage(ctx, tx, p, u, tenant, iss)
	if err != nil {
		return err
	}
	if err := tx.CreateInvitation(ctx, iss.inv); err != nil {
		return err
	}
	return tx.EnqueueOutbox(ctx, m)
}

// invitationMessage makes the email of an invitation. It needs no
// transaction, so that a create can make it before taking the writer.
func (s *Service) invitationMessage(ctx context.Context, r store.Reader, p *core.Principal, u core.User, tenant *core.Tenant, iss issued) (core.OutboxMessage, error) {
	prov, err := s.providerInfo(ctx, r)
	if err != nil {
		return core.OutboxMessage{}, err
	}
	d := mail.Data{ProviderName: prov.Name, InviterName: p.Name, RecipientName: u.Name, Email: u.Email,
		Link: s.link("/invite/" + iss.token), ExpiresAt: iss.inv.ExpiresAt}
	if tenant != nil {
		d.TenantName = tenant.Name
	}
	if d.InviterName == "" {
		d.InviterName = prov.Name
		if tenant != nil {
			d.InviterName = tenant.Name
		}
	}
	return s.outboxMessage(mail.KindInvitation, u.Lang, u.Email, d)
}

// OutboxQuery lists the outbox.
type OutboxQuery struct {
	Pending bool
	Sent    bool
	Cursor  string
	Limit   int
}

// OutboxPage is a page of the outbox. The data behind the bodies is left
// out: it carries links with tokens, which an API answer must not show.
type OutboxPage struct {
	Messages   []core.OutboxMessage
	NextCursor string
}

// ListOutbox shows provider administrators what mail waits or went.
func (s *Service) ListOutbox(ctx context.Context, p *core.Principal, q OutboxQuery) (OutboxPage, error) {
	if !isProviderAdmin(p) {
		return OutboxPage{}, forbidden("only provider administrators read the outbox")
	}
	if q.Limit <= 0 {
		q.Limit = 100
	}
	if q.Limit > MaxPageSize {
		return OutboxPage{}, core.FieldInvalid("limit", "out_of_range", "must be at most 1000")
	}
	f := store.OutboxFilter{Pending: q.Pending, Sent: q.Sent, Limit: q.Limit + 1}
	if q.Cursor != "" {
		after, err := decodeCursor(q.Cursor)
		if err != nil {
			return OutboxPage{}, core.FieldInvalid("cursor", "invalid", "is not a cursor this server gave out")
		}
		f.After = after
	}
	msgs, err := s.store.ListOutbox(ctx, f)
	if err != nil {
		return OutboxPage{}, err
	}
	page := OutboxPage{Messages: msgs}
	if len(msgs) > q.Limit {
		page.Messages = msgs[:q.Limit]
		page.NextCursor = encodeCursor(page.Messages[q.Limit-1].ID)
	}
	for i := range page.Messages {
		page.Messages[i].Data = ""
	}
	return page, nil
}
