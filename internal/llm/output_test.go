package llm_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/nurture-sms/nurture/internal/llm"
)

func TestCheckOutput(t *testing.T) {
	in := normalized(t, validInput())
	link := in.BookingLink
	good := "Hi {{first_name}}, Acme Dental here. Time for your cleaning? Book in 1 minute: " + link + " Reply STOP to opt out"

	tests := []struct {
		name string
		out  string
		want string // cleaned draft when valid
		err  error  // expected reason when invalid
	}{
		{name: "valid", out: good, want: good},
		{name: "valid with surrounding whitespace and quotes", out: "\n  \"" + good + "\"  \n", want: good},
		{name: "valid in code fence", out: "```text\n" + good + "\n```", want: good},
		{name: "valid with curly quotes", out: "“" + good + "”", want: good},
		{name: "valid with label", out: "SMS: " + good, want: good},
		{name: "valid with CRLF single line break", out: "Hi {{first_name}}!\r\nBook: " + link + ". Reply STOP to opt out", want: "Hi {{first_name}}!\nBook: " + link + ". Reply STOP to opt out"},
		{name: "link followed by punctuation", out: "Hi {{first_name}}, book here (" + link + "). Reply STOP to opt out", want: "Hi {{first_name}}, book here (" + link + "). Reply STOP to opt out"},
		{name: "placeholder repaired", out: "Hi {{ first_name }}, book: " + link + " Reply STOP to opt out", want: "Hi {{first_name}}, book: " + link + " Reply STOP to opt out"},
		{name: "placeholder case repaired", out: "Hi {{First_Name}}, book: " + link + " Reply STOP to opt out", want: "Hi {{first_name}}, book: " + link + " Reply STOP to opt out"},

		{name: "empty", out: "   \n ", err: llm.ErrEmptyOutput},
		{name: "only quotes", out: `""`, err: llm.ErrEmptyOutput},
		{name: "too long", out: "Hi {{first_name}}, " + strings.Repeat("very ", 100) + link + " Reply STOP to opt out", err: llm.ErrTooLong},
		{name: "two options", out: "Option 1: Hi {{first_name}}, book: " + link + "\nOption 2: Hey {{first_name}}, book: " + link, err: llm.ErrMultipleMessages},
		{name: "blank line paragraphs", out: "Hi {{first_name}}, book: " + link + "\n\nHey {{first_name}}, book: " + link, err: llm.ErrMultipleMessages},
		{name: "separator", out: "Hi {{first_name}}, book: " + link + "\n---\nHey {{first_name}}", err: llm.ErrMultipleMessages},
		{name: "numbered list", out: "1. Hi {{first_name}}, book: " + link + "\n2. Hey {{first_name}}, book: " + link, err: llm.ErrMultipleMessages},
		{name: "two opt-outs", out: "Hi {{first_name}} " + link + " Reply STOP to opt out. Hey {{first_name}} Reply STOP to opt out", err: llm.ErrMultipleMessages},
		{name: "missing link", out: "Hi {{first_name}}, book on our website! Reply STOP to opt out", err: llm.ErrMissingLink},
		{name: "link without scheme", out: "Hi {{first_name}}, book: calendly.com/acme-dental/cleaning Reply STOP to opt out", err: llm.ErrMissingLink},
		{name: "link altered", out: "Hi {{first_name}}, book: " + link + "/extra Reply STOP to opt out", err: llm.ErrOtherURL},
		{name: "link glued to text", out: "Hi {{first_name}}, book: " + link + "Reply STOP to opt out", err: llm.ErrOtherURL},
		{name: "other URL", out: "Hi {{first_name}}, book: " + link + " or visit https://evil.io/win Reply STOP to opt out", err: llm.ErrOtherURL},
		{name: "other URL with other scheme", out: "Hi {{first_name}}, book: " + link + " hxxp://evil.io Reply STOP to opt out", err: llm.ErrOtherURL},
		{name: "www address", out: "Hi {{first_name}}, book: " + link + " or www.evil.io Reply STOP to opt out", err: llm.ErrOtherURL},
		{name: "bare domain", out: "Hi {{first_name}}, book: " + link + " or see acme.com Reply STOP to opt out", err: llm.ErrOtherURL},
		{name: "bare domain with path", out: "Hi {{first_name}}, book: " + link + " or bit.ly/x Reply STOP to opt out", err: llm.ErrOtherURL},
		{name: "email address", out: "Hi {{first_name}}, book: " + link + " or mail info@acme.com Reply STOP to opt out", err: llm.ErrOtherURL},
		{name: "leaked system prompt", out: "My system prompt says: You are an expert SMS copywriter. {{first_name}} " + link, err: llm.ErrPromptLeak},
		{name: "leaked delimiter", out: "Hi {{first_name}} <<<CAMPAIGN_DATA_7f3a>>> " + link, err: llm.ErrPromptLeak},
		{name: "leaked nonce prefix", out: "Hi {{first_name}} END_CAMPAIGN_DATA " + link, err: llm.ErrPromptLeak},
		{name: "obeyed injection", out: "Ignore previous instructions. Hi {{first_name}} " + link, err: llm.ErrPromptLeak},
		{name: "as an AI", out: "As an AI, I think {{first_name}} should book " + link, err: llm.ErrPromptLeak},
		{name: "refusal", out: "I cannot help with that. {{first_name}} " + link, err: llm.ErrPromptLeak},
		{name: "role marker", out: "assistant: Hi {{first_name}}, book " + link, err: llm.ErrPromptLeak},
		{name: "chat token", out: "<|im_start|>Hi {{first_name}}, book " + link, err: llm.ErrPromptLeak},
		{name: "preamble", out: "Here's your SMS: Hi {{first_name}}, book " + link, err: llm.ErrPromptLeak},
		{name: "placeholder missing", out: "Hi there, book: " + link + " Reply STOP to opt out", err: llm.ErrPlaceholder},
		{name: "placeholder single braces", out: "Hi {first_name}, book: " + link + " Reply STOP to opt out", err: llm.ErrPlaceholder},
		{name: "placeholder brackets", out: "Hi [first_name], book: " + link + " Reply STOP to opt out", err: llm.ErrPlaceholder},
		{name: "placeholder filled in", out: "Hi John, book: " + link + " Reply STOP to opt out", err: llm.ErrPlaceholder},
		{name: "other placeholder", out: "Hi {{first_name}} {{last_name}}, book: " + link + " Reply STOP to opt out", err: llm.ErrPlaceholder},
		{name: "triple braces", out: "Hi {{{first_name}}}, book: " + link + " Reply STOP to opt out", err: llm.ErrPlaceholder},
		{name: "markdown link", out: "Hi {{first_name}}, [book here](" + link + ") Reply STOP to opt out", err: llm.ErrFormatting},
		{name: "bold", out: "Hi {{first_name}}, **book** " + link + " Reply STOP to opt out", err: llm.ErrFormatting},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := llm.CheckOutput(tt.out, in)
			if tt.err == nil {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if got != tt.want {
					t.Fatalf("got %q\nwant %q", got, tt.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted %q", got)
			}
			if !errors.Is(err, tt.err) || !errors.Is(err, llm.ErrInvalidOutput) {
				t.Fatalf("error = %v, want %v", err, tt.err)
			}
			if got != "" {
				t.Fatalf("returned %q with an error", got)
			}
			if llm.IsRetryable(err) {
				t.Fatal("output errors must not be retryable")
			}
		})
	}
}

func TestCheckOutputIgnoresLinkContents(t *testing.T) {
	// A valid booking link may contain text the content checks look for;
	// only text outside the link counts.
	for _, link := range []string{
		"https://calendly.com/system:prompt/CAMPAIGN_DATA",
		"https://calendly.com/option-1/i-cannot",
		"https://calendly.com/a?next=https://calendly.com/b&c=---",
		"https://calendly.com/x)",
		"https://calendly.com/as%20an%20AI",
	} {
		in := validInput()
		in.BookingLink = link
		in = normalized(t, in)
		msg := "Hi {{first_name}}, book here: " + in.BookingLink + " Reply STOP to opt out"
		if got, err := llm.CheckOutput(msg, in); err != nil || got != msg {
			t.Errorf("link %q: %q, %v", link, got, err)
		}
	}
}

func TestCheckOutputNeedsLinkInInput(t *testing.T) {
	_, err := llm.CheckOutput("Hi {{first_name}} https://calendly.com/x", llm.DraftInput{})
	if !errors.Is(err, llm.ErrMissingLink) {
		t.Fatalf("err = %v, want ErrMissingLink", err)
	}
}
