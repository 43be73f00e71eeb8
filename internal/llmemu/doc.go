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
// models (o1, o3, o4, gpt-5…), max_tokens or a temperature other than 1
// answer 400 invalid_request_error.
//
// # The draft
//
// The reply is deterministic, derived from the request's messages: the
// user message internal/llm builds (see llm.BuildMessages) fences a JSON
// object between <<<CAMPAIGN_DATA_nonce>>> and <<<END_CAMPAIGN_DATA_nonce>>>;
// the emulator reads its booking_link, campaign_name (the sender, as the
// system prompt asks), goal and tone and answers
//
//	Hi {{first_name}}, <campaign name> here. <goal>. Book: <booking link> Reply STOP to opt out
//
// shortened to stay within two GSM-7 segments, falling back to fewer parts
// when the name or goal would make llm.CheckOutput reject the draft. When
// no booking link can be found (ExtractFields), the reply has none, which
// CheckOutput rejects: the product's fallback path runs. The usage counts
// are about one token per four characters.
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
// rate_limit_exceeded; inject_bad_output appends a second URL to the draft
// so that CheckOutput rejects it; delay_ms delays every /v1 request (the
// wait ends early when the client gives up). model restricts rate_limit,
// inject_bad_output and delay_ms to one model.
package llmemu
