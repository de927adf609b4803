package jobs

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/riverqueue/river"
	"github.com/wneessen/go-mail"

	"github.com/movable-registry/registry/internal/registry"
)

// SMTP is where emails go: a relay at Addr (host:port), STARTTLS when it
// offers it, from From. PublicURL, when set, makes each email's link.
type SMTP struct {
	Addr, From, PublicURL string
}

// emailArgs is one notice's email to one user.
type emailArgs struct {
	NotificationID int64  `json:"notification_id"`
	UserID         string `json:"user_id"`
}

func (emailArgs) Kind() string { return "deliver_email" }

type emailer struct {
	river.WorkerDefaults[emailArgs]
	m     *metrics
	store Store
	smtp  SMTP
	o     Options
}

// noticeWords are a notice's kinds in each language.
var noticeWords = map[string]map[string]string{
	"zh": {registry.NoticeFiled: "新登记", registry.NoticeChanged: "登记变更", registry.NoticeObjection: "异议", registry.NoticeWatchMatch: "关注事项", registry.NoticeExpiryReminder: "到期提醒"},
	"en": {registry.NoticeFiled: "New registration", registry.NoticeChanged: "Registration changed", registry.NoticeObjection: "Objection", registry.NoticeWatchMatch: "Watch match", registry.NoticeExpiryReminder: "Expiry reminder"},
}

// compose writes a notice's email in the user's language.
func compose(n registry.Notice, language, publicURL string) (subject, body string) {
	words := noticeWords[language]
	if words == nil {
		language, words = "zh", noticeWords["zh"]
	}
	link := ""
	if publicURL != "" {
		link = strings.TrimSuffix(publicURL, "/") + "/registrations/" + n.RegistrationNumber
	}
	var b strings.Builder
	if language == "en" {
		subject = fmt.Sprintf("[Security interests register] %s: %s", words[n.Kind], n.RegistrationNumber)
		fmt.Fprintf(&b, "The register has a notice for your organization.\n\nKind: %s\nRegistration number: %s\nEvent number: %s\nAt: %s\n",
			words[n.Kind], n.RegistrationNumber, n.EventNumber, n.At.Time.Format(time.RFC3339))
		if d, ok := n.Detail["days_before"]; ok {
			fmt.Fprintf(&b, "Expires: %s (in %s days); it can be extended before then.\n", n.Detail["expires_at"], d)
		}
		if link != "" {
			fmt.Fprintf(&b, "\nSee it at %s\n", link)
		}
		return subject, b.String()
	}
	subject = fmt.Sprintf("【动产和权利担保统一登记】%s：%s", words[n.Kind], n.RegistrationNumber)
	fmt.Fprintf(&b, "贵机构有一条新的登记通知。\n\n类型：%s\n登记编号：%s\n事项编号：%s\n时间：%s\n",
		words[n.Kind], n.RegistrationNumber, n.EventNumber, n.At.Time.In(registry.Shanghai).Format("2006-01-02 15:04:05"))
	if d, ok := n.Detail["days_before"]; ok {
		fmt.Fprintf(&b, "到期时间：%s（%s天后），可在此之前办理展期登记。\n", n.Detail["expires_at"], d)
	}
	if link != "" {
		fmt.Fprintf(&b, "\n查看：%s\n", link)
	}
	return subject, b.String()
}

// Work sends the notice to the user through the relay.
func (e *emailer) Work(ctx context.Context, job *river.Job[emailArgs]) error {
	n, u, err := e.store.EmailOf(ctx, registry.Delivery{NotificationID: job.Args.NotificationID, UserID: job.Args.UserID})
	if errors.Is(err, registry.ErrNotFound) {
		e.m.outcome("email", "gone")
		return river.JobCancel(fmt.Errorf("the notice or the user is gone, or no longer wants email"))
	}
	if err != nil {
		return err
	}
	if time.Since(job.CreatedAt) > e.o.RetryFor {
		e.m.outcome("email", "given_up")
		return river.JobCancel(fmt.Errorf("given up after %s", e.o.RetryFor))
	}
	if !registry.EmailAtDomainName(u.Email) {
		// Stored before such addresses were refused: the relay is never
		// asked to deliver inside the operator's network.
		e.m.outcome("email", "refused")
		return river.JobCancel(fmt.Errorf("the user's email is not at a domain name"))
	}
	subject, body := compose(n, u.Language, e.smtp.PublicURL)
	m := mail.NewMsg()
	if err := m.From(e.smtp.From); err != nil {
		return river.JobCancel(err)
	}
	if err := m.To(u.Email); err != nil {
		return river.JobCancel(err)
	}
	m.Subject(subject)
	m.SetMessageID()
	m.SetBodyString(mail.TypeTextPlain, body)
	host, port, err := net.SplitHostPort(e.smtp.Addr)
	if err != nil {
		return river.JobCancel(err)
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		return river.JobCancel(err)
	}
	c, err := mail.NewClient(host, mail.WithPort(p), mail.WithTLSPolicy(mail.TLSOpportunistic), mail.WithTimeout(10*time.Second))
	if err != nil {
		return river.JobCancel(err)
	}
	if err := c.DialAndSendWithContext(ctx, m); err != nil {
		e.m.outcome("email", "failed")
		return err
	}
	e.m.outcome("email", "delivered")
	return nil
}
