package access

import "errors"

// Errors returned by the package. The texts of ErrFull, ErrRate, ErrAddressBusy and ErrBusy
// carry no package prefix: they are what a refused client reads (an RTMP onStatus
// description, an HTTP body).
var (
	// ErrFull is wrapped by the error of Admission.Reserve when a limit is reached.
	ErrFull = errors.New("server full")
	// ErrUnknownKind is returned by Admission.Reserve for a Kind it does not know.
	ErrUnknownKind = errors.New("access: unknown kind")
	// ErrRate is wrapped by Guard.Admit's error when the client's address starts clients
	// faster than its budget allows.
	ErrRate = errors.New("too many new connections from this address")
	// ErrAddressBusy is wrapped by Guard.Admit's error when the client's address kept its
	// budget of clients not yet viewers full for as long as the client could wait.
	ErrAddressBusy = errors.New("too many connections from this address not yet playing")
	// ErrBusy is wrapped by Guard.Admit's error when every place for clients not yet
	// viewers stayed taken for as long as the client could wait.
	ErrBusy = errors.New("server busy: too many connections not yet playing")
	// ErrInvalidBudget is returned by NewGuard for a budget it cannot apply.
	ErrInvalidBudget = errors.New("access: invalid budget")
)
