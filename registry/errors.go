package registry

import (
	"errors"
	"fmt"
)

// Error codes. Every error that crosses a package boundary carries one of these, and only the api
// package maps them to HTTP statuses.
const (
	EINVALID            = "invalid"             // the request is malformed or breaks a domain rule (400)
	EUNPROCESSABLE      = "unprocessable"       // well-formed but refers to things that do not fit (422)
	ENOTFOUND           = "not_found"           // the record does not exist (404)
	ECONFLICT           = "conflict"            // a uniqueness rule would be broken (409)
	EPROVENANCECONFLICT = "provenance_conflict" // model-generated text re-sent as human (409)
	EUNAUTHORIZED       = "unauthorized"        // no or unknown API key (401)
	EFORBIDDEN          = "forbidden"           // the key's role does not allow this (403)
	EPOLICYDENIED       = "policy_denied"       // a policy refused a mix (422)
	ETOOLARGE           = "too_large"           // a body, text or list exceeds its limit (413)
	EUNAVAILABLE        = "unavailable"         // a dependency (e.g. the toxicity scorer) is down (503)
	EINTERNAL           = "internal"            // anything else (500); details go to the log only
)

// FieldError names one field of a request that is wrong. Field is a JSON pointer-like path such as
// "samples/3/text".
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Error is the registry's error type. Message is safe to show to clients; Fields, Violations,
// DecisionID and Existing add structured detail for the problem response.
type Error struct {
	Code       string
	Message    string
	Fields     []FieldError
	Violations []string // policy messages, with EPOLICYDENIED
	DecisionID string   // the stored decision, with EPOLICYDENIED
	Existing   string   // the id of the conflicting record, with ECONFLICT and EPROVENANCECONFLICT
	// NearDuplicateOf and Similarity name the model sample that human text near-duplicates, with
	// EPROVENANCECONFLICT.
	NearDuplicateOf string
	Similarity      float64
	Err             error // the wrapped cause, never shown to clients
}

// Error implements the error interface.
func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Unwrap returns the wrapped cause.
func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the given code and a formatted, client-safe message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// FieldErrorf returns an EINVALID error about a single field.
func FieldErrorf(field, format string, args ...any) *Error {
	msg := fmt.Sprintf(format, args...)
	return &Error{Code: EINVALID, Message: field + ": " + msg, Fields: []FieldError{{Field: field, Message: msg}}}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL for any other non-nil
// error, and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the client-safe message of err: the *Error's message, or "internal error".
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}

// ErrTampered is wrapped by every error that reports a stored record found to differ from what
// the tamper-evident log holds for it. Such an error is the registry's, never the client's: the API
// answers it as an internal error and the log says which record.
var ErrTampered = errors.New("a stored record no longer matches the tamper-evident log")

// Tampered returns an error wrapping ErrTampered that says which record and what differs.
func Tampered(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrTampered, fmt.Sprintf(format, args...))
}
