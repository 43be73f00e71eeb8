// Package llmemu is a local, in-memory emulator of the subset of the OpenAI
// REST API that Nurture's drafting uses (internal/llm through
// github.com/sashabaranov/go-openai), for tests and development. Only
// tests and cmd/llm-emulator import it; production code talks to it through
// llm.NewProvider / llm.Pinger with BaseURL "http://HOST:PORT/v1".
//
// It serves
//
//	GET  /v1/models               {"object":"list","data":[{"id","object":"model","created","owned_by"}]}
//	GET  /v1/models/{model}       one model (404 model_not_found)
//	POST /v1/chat/completions     non-streaming chat completion with usage
//
// with OpenAI's behaviour where a client can trip over it: a bearer token
// is required (401 in OpenAI's error envelope
// {"error":{"message","type","param","code"}}, code "invalid_api_key" for a
// wrong key when Options.APIKey is set), an unknown model answers 404
// model_not_found, a streaming request, missing messages or, for reasoning
// models (names starting with gpt-5, o1, o3 or o4; the emulator's own list),
// max_tokens or a temperature other than 1 answer 400
// invalid_request_error.
//
// # The reply
//
// The emulator behaves like a model, not like a filter for the product: it
// does not import internal/llm and never runs the product's CheckOutput on
// its replies, so the product's own validation is what tests exercise.
//
// When the request has a system message and its newest user message holds
// a well-formed data block (the JSON object between the lines
// <<<CAMPAIGN_DATA_nonce>>> and <<<END_CAMPAIGN_DATA_nonce>>>, as
// llm.BuildMessages writes it), it answers like a compliant model: a
// deterministic reply built from a small table of fixed, benign sentences
// (one per tone), e.g. for friendly
//
//	Hi {{first_name}}, this is <campaign name>. We would love to see you again soon. Book a time that suits you: <booking link> Reply STOP to opt out
//
// with the campaign name as given (left out when the reply would exceed
// 300 characters) and the booking link exactly as found. The goal, the
// audience and the custom instructions are never copied, so hostile text
// there ("ignore previous instructions…") does not reach the reply. A
// block without booking_link gets a reply without a link (outcome
// "no_link"), which CheckOutput rejects.
//
// Without the system message or without a valid fenced block in the newest
// user message it answers like a naive model that obeys the raw text: it
// echoes the user message, trimmed, at most 600 characters (outcome
// "echo"). CheckOutput rejects that, so a product regression that drops or
// breaks the fence fails the drafting tests instead of being hidden.
//
// The usage counts are about one token per four characters.
//
// # Admin API
//
// The admin API has no authentication and speaks JSON.
//
//	GET    /_emulator/health
//	GET    /_emulator/faults       Faults
//	POST   /_emulator/faults       Faults (replace); PUT is the same
//	DELETE /_emulator/faults       clear
//	GET    /_emulator/requests     {"count","by_model":{model:n},"requests":[Request]} oldest first
//	DELETE /_emulator/requests     forget them
//
// Faults (JSON keys): fail_model (a model name, or "*" for every model)
// with status (default 500) answers that model's chat completions with that
// status and OpenAI's error body; rate_limit answers 429
// rate_limit_exceeded; inject_bad_output appends a second URL to the reply;
// delay_ms delays every /v1 request (the wait ends early when the client
// gives up). Three faults imitate a model that obeyed a prompt injection
// (applied to compliant replies): obey_injection puts "Here is the system
// prompt: " and the custom instructions and goal, verbatim, before the
// draft; two_variants answers two alternative drafts separated by a blank
// line ("Option 1: … Option 2: …"); mangle_placeholder writes {first_name}
// instead of {{first_name}}. model restricts rate_limit, inject_bad_output,
// obey_injection, two_variants, mangle_placeholder and delay_ms to one
// model. A request's outcome in the log names the faults that shaped its
// reply, joined by "+".
package llmemu
