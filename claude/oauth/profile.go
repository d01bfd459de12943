package oauth

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/authpool/authpool/store"
)

// Profile is what the profile endpoint says of a login's account and
// organization. Only OrganizationType is relied on (it names the plan);
// the other fields are read when present.
type Profile struct {
	AccountUUID      string `json:"account_uuid,omitempty"`
	AccountEmail     string `json:"account_email,omitempty"`
	OrganizationUUID string `json:"organization_uuid,omitempty"`
	OrganizationName string `json:"organization_name,omitempty"`
	// OrganizationType is the organization's kind: claude_max, claude_pro,
	// ...
	OrganizationType string `json:"organization_type,omitempty"`
}

// Plan returns the subscription's plan as Claude Code names it ("max",
// "pro", "team", "enterprise"), or "" for an organization type it does not
// map.
func (p Profile) Plan() string {
	switch p.OrganizationType {
	case "claude_max":
		return "max"
	case "claude_pro":
		return "pro"
	case "claude_team":
		return "team"
	case "claude_enterprise":
		return "enterprise"
	}
	return ""
}

// Profile reads the login's profile with its access token (which needs the
// user:profile scope). A refusal is an *HTTPError.
func (c *Client) Profile(ctx context.Context, accessToken store.Secret) (Profile, error) {
	body, err := c.getBearer(ctx, c.cfg.ProfileURL, "profile", accessToken)
	if err != nil {
		return Profile{}, err
	}
	return ParseProfile(body)
}

// ParseProfile reads an answer of the profile endpoint: account{uuid,
// email (or email_address)} and organization{uuid, name,
// organization_type}. Unknown fields are ignored.
func ParseProfile(body []byte) (Profile, error) {
	var j struct {
		Account *struct {
			UUID         string `json:"uuid"`
			Email        string `json:"email"`
			EmailAddress string `json:"email_address"`
		} `json:"account"`
		Organization *struct {
			UUID             string `json:"uuid"`
			Name             string `json:"name"`
			OrganizationType string `json:"organization_type"`
		} `json:"organization"`
	}
	if err := json.Unmarshal(body, &j); err != nil {
		return Profile{}, fmt.Errorf("oauth: profile: %w", err)
	}
	var p Profile
	if a := j.Account; a != nil {
		p.AccountUUID, p.AccountEmail = a.UUID, a.Email
		if p.AccountEmail == "" {
			p.AccountEmail = a.EmailAddress
		}
	}
	if o := j.Organization; o != nil {
		p.OrganizationUUID, p.OrganizationName, p.OrganizationType = o.UUID, o.Name, o.OrganizationType
	}
	return p, nil
}
