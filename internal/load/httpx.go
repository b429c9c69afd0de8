package load

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/ory-identity-layer/identity/internal/orybody"
)

// request is one HTTP call of an operation.
type request struct {
	method string
	url    string
	// json is marshalled as the body when not nil; form is sent url-encoded when not nil.
	json any
	form url.Values
	// header is added to the request.
	header http.Header
	// basic, when set, is sent as HTTP basic authentication.
	basic *[2]string
	// want lists the statuses that count as an answer; the body of any other status becomes
	// the error.
	want []int
}

// statusError is an answer with a status the operation did not expect.
type statusError struct {
	method, path string
	status       int
	message      string
}

func (e *statusError) Error() string {
	msg := fmt.Sprintf("%s %s: status %d", e.method, e.path, e.status)
	if e.message != "" {
		msg += ": " + e.message
	}
	return msg
}

// send performs req and decodes a JSON answer into out when out is not nil. It returns the
// status, 0 when no response came back.
func send(ctx context.Context, hc *http.Client, req request, out any) (int, error) {
	httpReq, err := newHTTPRequest(ctx, req)
	if err != nil {
		return 0, err
	}
	resp, err := hc.Do(httpReq)
	if err != nil {
		return 0, transportError(req.method, httpReq.URL.Path, err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return resp.StatusCode, fmt.Errorf("%s %s: reading body: %w", req.method,
			httpReq.URL.Path, err)
	}

	if !wanted(req.want, resp.StatusCode) {
		return resp.StatusCode, &statusError{
			method: req.method, path: httpReq.URL.Path,
			status: resp.StatusCode, message: orybody.Message(body),
		}
	}
	if out != nil {
		if err := json.Unmarshal(body, out); err != nil {
			return resp.StatusCode, fmt.Errorf("%s %s: decoding answer: %w", req.method,
				httpReq.URL.Path, err)
		}
	}
	return resp.StatusCode, nil
}

func newHTTPRequest(ctx context.Context, req request) (*http.Request, error) {
	var body io.Reader
	contentType := ""
	switch {
	case req.json != nil:
		raw, err := json.Marshal(req.json)
		if err != nil {
			return nil, fmt.Errorf("encoding body: %w", err)
		}
		body, contentType = bytes.NewReader(raw), "application/json"
	case req.form != nil:
		body = strings.NewReader(req.form.Encode())
		contentType = "application/x-www-form-urlencoded"
	}
	httpReq, err := http.NewRequestWithContext(ctx, req.method, req.url, body)
	if err != nil {
		return nil, fmt.Errorf("building request: %w", err)
	}
	for k, v := range req.header {
		httpReq.Header[k] = v
	}
	if contentType != "" {
		httpReq.Header.Set("Content-Type", contentType)
	}
	httpReq.Header.Set("Accept", "application/json")
	if req.basic != nil {
		httpReq.SetBasicAuth(req.basic[0], req.basic[1])
	}
	return httpReq, nil
}

func wanted(want []int, status int) bool {
	if len(want) == 0 {
		return status >= 200 && status < 300
	}
	for _, w := range want {
		if w == status {
			return true
		}
	}
	return false
}

// transportError shortens the client's error: the method and path are kept, the full URL
// with its query (flow ids) is not.
func transportError(method, path string, err error) error {
	var uerr *url.Error
	if errors.As(err, &uerr) {
		err = uerr.Err
	}
	return fmt.Errorf("%s %s: %w", method, path, err)
}

// joinURL appends path to a base URL that may end in a slash.
func joinURL(base, path string) string {
	return strings.TrimRight(base, "/") + path
}
