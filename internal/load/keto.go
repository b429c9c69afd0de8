package load

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync/atomic"
	"time"
)

// Keto operation names.
const (
	OpKetoWrite        = "keto/write"
	OpKetoCheckAllowed = "keto/check-allowed"
	OpKetoCheckDenied  = "keto/check-denied"
)

// ketoRelation is the relation of every tuple written.
const ketoRelation = "viewer"

// ketoLoad writes relation tuples (writes) and checks them (reads), alternating between a
// subject that holds the relation and one that does not.
type ketoLoad struct {
	r      *Runner
	seq    atomic.Uint64
	reads  atomic.Uint64
	tuples *tracked[tuple]
}

// tuple is an acknowledged write: objects/subjects are unique per run and per write.
type tuple struct {
	object, subject string
}

func newKetoLoad(r *Runner) *ketoLoad {
	return &ketoLoad{r: r, tuples: newTracked[tuple](r.cfg.MaxTracked)}
}

func (k *ketoLoad) ops() []string {
	return []string{OpKetoWrite, OpKetoCheckAllowed, OpKetoCheckDenied}
}

func (k *ketoLoad) untracked() int64 { return k.tuples.overflow() }

func (k *ketoLoad) setup(context.Context) error { return nil }

// teardown leaves the tuples in place; their objects carry the run id.
func (k *ketoLoad) teardown(context.Context) error { return nil }

func (k *ketoLoad) step(ctx context.Context, due time.Time, read bool) {
	t, ok := k.tuples.random()
	if !read || !ok {
		_ = k.r.do(ctx, OpKetoWrite, due, k.write)
		return
	}
	if k.reads.Add(1)%2 == 0 {
		_ = k.r.do(ctx, OpKetoCheckAllowed, due, func(ctx context.Context) (int, error) {
			status, allowed, err := k.check(ctx, t.object, t.subject)
			if err == nil && !allowed {
				err = errors.New("check: acknowledged tuple denied")
			}
			return status, err
		})
		return
	}
	// A subject that was never written: Keto must deny it, with 403, which is an answer.
	stranger := "user:stranger-" + k.r.cfg.RunID
	_ = k.r.do(ctx, OpKetoCheckDenied, due, func(ctx context.Context) (int, error) {
		status, allowed, err := k.check(ctx, t.object, stranger)
		if err == nil && allowed {
			err = errors.New("check: subject without a tuple allowed")
		}
		return status, err
	})
}

func (k *ketoLoad) write(ctx context.Context) (int, error) {
	n := k.seq.Add(1)
	t := tuple{
		object:  fmt.Sprintf("load-%s-%d", k.r.cfg.RunID, n),
		subject: fmt.Sprintf("user:%s-%d", k.r.cfg.RunID, n),
	}
	status, err := send(ctx, k.r.client, request{
		method: http.MethodPut,
		url:    joinURL(k.r.cfg.Endpoints.KetoWriteURL, "/admin/relation-tuples"),
		json: map[string]string{
			"namespace": k.r.cfg.KetoNamespace, "object": t.object,
			"relation": ketoRelation, "subject_id": t.subject,
		},
		want: []int{http.StatusCreated},
	}, nil)
	if err != nil {
		return status, err
	}
	k.tuples.add(t)
	return status, nil
}

// check asks whether subject holds the relation on object. Keto answers 200 for allowed and
// 403 for denied; both are answers.
func (k *ketoLoad) check(ctx context.Context, object, subject string) (int, bool, error) {
	q := url.Values{
		"namespace": {k.r.cfg.KetoNamespace}, "object": {object},
		"relation": {ketoRelation}, "subject_id": {subject},
	}
	var res struct {
		Allowed bool `json:"allowed"`
	}
	status, err := send(ctx, k.r.client, request{
		method: http.MethodGet,
		url:    joinURL(k.r.cfg.Endpoints.KetoReadURL, "/relation-tuples/check?"+q.Encode()),
		want:   []int{http.StatusOK, http.StatusForbidden},
	}, &res)
	if err != nil {
		return status, false, err
	}
	if res.Allowed != (status == http.StatusOK) {
		return status, false, fmt.Errorf("check: status %d with allowed=%t", status, res.Allowed)
	}
	return status, res.Allowed, nil
}

// verify checks every acknowledged tuple.
func (k *ketoLoad) verify(ctx context.Context, v *verifier) VerifyService {
	tuples := k.tuples.all()
	out := VerifyService{Service: Keto, What: "tuples check as allowed"}
	return v.run(ctx, out, len(tuples), func(ctx context.Context, i int) (verdict, string) {
		t := tuples[i]
		status, allowed, err := k.check(ctx, t.object, t.subject)
		switch {
		case err != nil && (status == 0 || status >= 500):
			return unsure, err.Error()
		case err != nil:
			return lost, t.object + ": " + err.Error()
		case !allowed:
			return lost, fmt.Sprintf("%s:%s#%s@%s denied", k.r.cfg.KetoNamespace, t.object,
				ketoRelation, t.subject)
		}
		return found, ""
	})
}
