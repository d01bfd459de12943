package cli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/authpool/authpool/claude"
)

// This file reads a stream-json run line by line (docs/formats.md §1.2).

// cliStream is ParseStream's state.
type cliStream struct {
	res        Result
	seenResult bool
	sessionID  string // from system and assistant lines
	trailing   []Message
	byID       map[string]int // message id → index in trailing
	event      *RateLimitInfo // latest rate_limit_event
	errInfo    *RateLimitInfo // latest api_error_params.rate_limit_info
	apiErr     *cliAssistantLine
}

// read reads the lines of r.
func (p *cliStream) read(r io.Reader) error {
	br := bufio.NewReaderSize(r, 64<<10)
	var long []byte
	for n := 1; ; n++ {
		line, terminated, err := cliReadLine(br, &long)
		if err != nil {
			if errors.Is(err, bufio.ErrBufferFull) {
				return fmt.Errorf("claude: stream-json line %d: longer than %d bytes: %w", n, MaxStreamLine, err)
			}
			return fmt.Errorf("claude: stream-json line %d: %w", n, err)
		}
		if line == nil {
			return nil
		}
		if err := p.line(n, line, terminated); err != nil {
			return fmt.Errorf("claude: stream-json line %d: %w", n, err)
		}
		if !terminated {
			return nil
		}
	}
}

// cliReadLine returns the next line of br without its newline, whether a
// newline ended it, and nil at the end of the input. Lines longer than
// MaxStreamLine are an error matching bufio.ErrBufferFull. The line is valid
// until the next call; *long is scratch space for lines longer than br's
// buffer.
func cliReadLine(br *bufio.Reader, long *[]byte) ([]byte, bool, error) {
	frag, err := br.ReadSlice('\n')
	if err == nil {
		return frag[:len(frag)-1], true, nil
	}
	if err == io.EOF {
		if len(frag) == 0 {
			return nil, false, nil
		}
		return frag, false, nil
	}
	if err != bufio.ErrBufferFull {
		return nil, false, err
	}
	buf := append((*long)[:0], frag...)
	for {
		frag, err = br.ReadSlice('\n')
		if len(buf)+len(frag) > MaxStreamLine+1 { // +1: the newline
			*long = buf
			return nil, false, bufio.ErrBufferFull
		}
		buf = append(buf, frag...)
		*long = buf
		switch err {
		case nil:
			return buf[:len(buf)-1], true, nil
		case io.EOF:
			if len(buf) > MaxStreamLine {
				return nil, false, bufio.ErrBufferFull
			}
			return buf, false, nil
		case bufio.ErrBufferFull:
		default:
			return nil, false, err
		}
	}
}

// cliLineType is the part of every stream-json line read first.
type cliLineType struct {
	Type string `json:"type"`
}

// cliSystemLine is what ParseStream reads of a system line.
type cliSystemLine struct {
	SessionID string `json:"session_id"`
}

// cliAssistantLine is what ParseStream reads of an assistant line
// (docs/formats.md §1.2). The api_error* fields (snake_case, unlike transcripts'
// camelCase) are not in docs/formats.md; the captured quota stream has them on
// its API-error message.
type cliAssistantLine struct {
	SessionID string `json:"session_id"`
	Message   struct {
		ID    string       `json:"id"`
		Model string       `json:"model"`
		Usage *cliAPIUsage `json:"usage"`
	} `json:"message"`
	IsAPIErrorMessage bool   `json:"is_api_error_message"`
	APIErrorStatus    int    `json:"api_error_status"`
	APIErrorType      string `json:"api_error_type"`
	APIError          string `json:"api_error"`
	APIErrorParams    struct {
		RateLimitInfo *cliRateLimit `json:"rate_limit_info"`
	} `json:"api_error_params"`
}

// cliAPIUsage is the API usage of an assistant message (snake_case,
// docs/formats.md §1.1).
type cliAPIUsage struct {
	InputTokens              int64 `json:"input_tokens"`
	OutputTokens             int64 `json:"output_tokens"`
	CacheCreationInputTokens int64 `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     int64 `json:"cache_read_input_tokens"`
	CacheCreation            struct {
		Ephemeral5m int64 `json:"ephemeral_5m_input_tokens"`
		Ephemeral1h int64 `json:"ephemeral_1h_input_tokens"`
	} `json:"cache_creation"`
	ServerToolUse struct {
		WebSearchRequests int64 `json:"web_search_requests"`
	} `json:"server_tool_use"`
	Speed        string `json:"speed"`
	InferenceGeo string `json:"inference_geo"`
}

// cliRateLimitLine is a rate_limit_event line.
type cliRateLimitLine struct {
	RateLimitInfo *cliRateLimit `json:"rate_limit_info"`
}

// cliRateLimit is rate_limit_info as the stream writes it.
type cliRateLimit struct {
	Status                string                     `json:"status"`
	ResetsAt              *float64                   `json:"resetsAt"`
	RateLimitType         string                     `json:"rateLimitType"`
	Utilization           *float64                   `json:"utilization"`
	SurpassedThreshold    *float64                   `json:"surpassedThreshold"`
	OverageStatus         string                     `json:"overageStatus"`
	OverageResetsAt       *float64                   `json:"overageResetsAt"`
	OverageDisabledReason string                     `json:"overageDisabledReason"`
	IsUsingOverage        bool                       `json:"isUsingOverage"`
	UnifiedWindows        map[string]json.RawMessage `json:"unifiedWindows"`
}

// cliRateLimitWindow is one entry of unifiedWindows.
type cliRateLimitWindow struct {
	Status      string   `json:"status"`
	ResetsAt    *float64 `json:"resetsAt"`
	Utilization *float64 `json:"utilization"`
}

// line reads line n of the stream. terminated is false for a last line
// without a newline, which may have been cut short.
func (p *cliStream) line(n int, line []byte, terminated bool) error {
	line = bytes.TrimSpace(line)
	if len(line) == 0 {
		return nil
	}
	var lt cliLineType
	err := json.Unmarshal(line, &lt)
	if syn := (*json.SyntaxError)(nil); errors.As(err, &syn) {
		if !terminated && syn.Offset >= int64(len(line)) {
			return nil // the stream died in the middle of this line
		}
		return cliJSONError("", err)
	}
	if line[0] != '{' {
		return errors.New("not a JSON object")
	}
	if err != nil {
		return cliJSONError("", err)
	}
	switch lt.Type {
	case "system":
		var s cliSystemLine
		if err := json.Unmarshal(line, &s); err != nil {
			return cliJSONError("", err)
		}
		if s.SessionID != "" {
			p.sessionID = s.SessionID
		}
	case "assistant":
		return p.assistant(n, line)
	case "rate_limit_event":
		var e cliRateLimitLine
		if err := json.Unmarshal(line, &e); err != nil {
			return cliJSONError("", err)
		}
		if e.RateLimitInfo != nil {
			info, err := e.RateLimitInfo.info("rate_limit_info")
			if err != nil {
				return err
			}
			p.event = &info
		}
	case "result":
		var r Result
		if err := cliParseResultLine(line, &r); err != nil {
			return err
		}
		p.res, p.seenResult = r, true
		p.trailing, p.byID, p.apiErr = nil, nil, nil
	}
	return nil
}

// assistant reads assistant line n.
func (p *cliStream) assistant(n int, line []byte) error {
	var a cliAssistantLine
	if err := json.Unmarshal(line, &a); err != nil {
		return cliJSONError("", err)
	}
	if a.SessionID != "" {
		p.sessionID = a.SessionID
	}
	if a.APIErrorStatus < 0 {
		return cliNegative("api_error_status", int64(a.APIErrorStatus))
	}
	if ri := a.APIErrorParams.RateLimitInfo; ri != nil {
		info, err := ri.info("api_error_params.rate_limit_info")
		if err != nil {
			return err
		}
		p.errInfo = &info
	}
	apiErr := a.IsAPIErrorMessage || a.APIErrorStatus != 0 || a.Message.Model == "<synthetic>"
	if apiErr {
		p.apiErr = &a
	}
	u := a.Message.Usage
	if u == nil {
		return nil
	}
	c, err := u.counts("message.usage")
	if err != nil {
		return err
	}
	if apiErr {
		return nil // an error message Claude Code made up: no API usage
	}
	p.apiErr = nil // a later message succeeded
	m := Message{ID: a.Message.ID, Model: a.Message.Model, Counts: c, Line: n}
	if m.ID == "" {
		p.trailing = append(p.trailing, m)
		return nil
	}
	if p.byID == nil {
		p.byID = make(map[string]int)
	}
	i, ok := p.byID[m.ID]
	switch {
	case !ok:
		p.byID[m.ID] = len(p.trailing)
		p.trailing = append(p.trailing, m)
	case cliWeight(c) >= cliWeight(p.trailing[i].Counts):
		p.trailing[i] = m
	}
	return nil
}

// cliWeight is what chooses among the lines of one message: the line with
// the most tokens wins (ccusage 20's rule, docs/formats.md §3).
func cliWeight(c claude.Counts) int64 { return c.Total() + c.WebSearches }

// finish returns the Result of the lines read; failed marks it Incomplete.
func (p *cliStream) finish(failed bool) Result {
	r := p.res
	if !p.seenResult {
		r = Result{SessionID: p.sessionID}
		if a := p.apiErr; a != nil {
			r.APIErrorStatus, r.APIErrorType, r.APIError = a.APIErrorStatus, a.APIErrorType, a.APIError
			r.IsError = true
		}
		for _, m := range p.trailing {
			if r.Models == nil {
				r.Models = make(map[string]ModelUsage)
			}
			mu := r.Models[m.Model]
			cliAddCounts(&mu.Counts, m.Counts)
			r.Models[m.Model] = mu
		}
	}
	r.CostKnown = p.seenResult
	r.Trailing = p.trailing
	r.Incomplete = failed || !p.seenResult || len(p.trailing) > 0
	switch {
	case p.event != nil:
		r.RateLimit = p.event
	case p.errInfo != nil:
		r.RateLimit = p.errInfo
	}
	return r
}
