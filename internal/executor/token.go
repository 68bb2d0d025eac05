package executor

import (
	"context"
	"time"

	"github.com/arcfleet/arcfleet/internal/inventory"
)

// TokenSource mints the ARM access tokens hosts receive in access-token mode
// (inventory.AuthAccessToken): the credential's secret or certificate stays on
// the controller, each host gets only a short-lived token. internal/azure
// implements it with the Azure SDK.
type TokenSource interface {
	// Token returns an ARM access token for cred valid at least until expires.
	// An error may implement interface{ Code() string } (an AADSTS, MSG or ARCF
	// code); its message must not hold a secret.
	Token(ctx context.Context, cred inventory.Credential) (token string, expires time.Time, err error)
}
