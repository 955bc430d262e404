//! The API's OpenAPI 3.1 document, generated from the handlers'
//! `#[utoipa::path]` annotations and the `digits-web-api` types (with their
//! limits), completed with what the annotations cannot say: the callers'
//! identities, the errors every `/api` route may give (identity, rate and
//! load limits), the image bodies and this gateway's configured body limit.
//! Served at `/api/openapi.json`; the API contract test (schemathesis) holds
//! the live answers to it.

use digits_web_api::{MNIST_BYTES, MNIST_MEDIA_TYPE};
use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::request_body::RequestBody;
use utoipa::openapi::response::{ResponseBuilder, Responses};
use utoipa::openapi::schema::{ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
};
use utoipa::openapi::{KnownFormat, OpenApi as Document, Ref, RefOr, Required};
use utoipa::{Modify, OpenApi};

use crate::config::Config;
use crate::identity::VISITOR_COOKIE;
use crate::routes::{SMALL_BODY_BYTES, admin, health, model, predictions, stats};

/// What the document says first: whose data, and the limits.
const DESCRIPTION: &str = "Handwritten digit recognition: send a drawing, get the digit, the ten probabilities \
and the 28x28 image the model saw; give feedback; read your history and live accuracy. Every error is JSON \
{\"error\": text, \"code\": stable name}.\n\nWhose data: a browser is known by the digits_visitor cookie the \
gateway sets on its first answer (HttpOnly, SameSite=Strict); an API client may send Authorization: Bearer with \
a token of its own (16-256 visible characters) instead. History, feedback and /api/stats cover the caller's own \
predictions only; another caller's prediction is 404 like a missing one. The operators' token \
(DIGITS_ADMIN_TOKEN) sees every prediction and may export the labelled data.\n\nLimits: every client has a \
request rate (429 with Retry-After beyond it); the gateway sheds load beyond its concurrency limit (503 with \
Retry-After); bodies are at most 1 KiB except images (DIGITS_MAX_BODY_BYTES, 413 beyond; the image body's \
maxLength below is this gateway's); images at most 4096 pixels per side and 4,194,304 pixels in all (413 \
beyond); a body not sent within DIGITS_HTTP_READ_TIMEOUT_S is 408.";

#[derive(OpenApi)]
#[openapi(
    info(title = "Digits API", version = "1.2.0", description = DESCRIPTION),
    paths(
        predictions::create,
        predictions::list,
        predictions::get_one,
        predictions::revise,
        predictions::delete,
        predictions::feedback,
        stats::stats,
        stats::global,
        model::model,
        model::page,
        model::file,
        admin::export,
        health::healthz,
        health::readyz,
        openapi_json,
    ),
    modifiers(&Describe)
)]
struct ApiDoc;

/// `GET /api/openapi.json` (served by the router from [`document`]).
#[utoipa::path(
    get,
    path = "/api/openapi.json",
    operation_id = "getOpenApi",
    tag = "probes",
    summary = "This document",
    responses((status = 200, description = "OpenAPI 3.1", content_type = "application/json"))
)]
#[allow(dead_code)]
fn openapi_json() {}

/// The document for a gateway configured by `config`.
pub fn document(config: &Config) -> Document {
    let mut doc = ApiDoc::openapi();
    images(&mut doc, config.max_body_bytes);
    doc
}

/// The document as the JSON the gateway serves.
pub fn json(config: &Config) -> String {
    let mut value = serde_json::to_value(document(config)).unwrap_or_default();
    camel_case_links(&mut value);
    serde_json::to_string_pretty(&value).unwrap_or_default()
}

/// utoipa 5.5 writes a Link Object's fields in snake case (`operation_id`);
/// OpenAPI names them in camel case (`operationId`), and clients that follow
/// links (schemathesis's stateful tests) look for those names.
fn camel_case_links(value: &mut serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            if let Some(Value::Object(links)) = map.get_mut("links") {
                for link in links.values_mut().filter_map(Value::as_object_mut) {
                    for (snake, camel) in [
                        ("operation_id", "operationId"),
                        ("operation_ref", "operationRef"),
                        ("request_body", "requestBody"),
                    ] {
                        if let Some(field) = link.remove(snake) {
                            link.insert(camel.to_owned(), field);
                        }
                    }
                }
            }
            map.values_mut().for_each(camel_case_links);
        }
        Value::Array(items) => items.iter_mut().for_each(camel_case_links),
        _ => {}
    }
}

/// Identities and the error answers every `/api` route shares.
struct Describe;

impl Modify for Describe {
    fn modify(&self, doc: &mut Document) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "visitor",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                VISITOR_COOKIE,
                "Set by the gateway on the first answer that finds none: an anonymous identity.",
            ))),
        );
        components.add_security_scheme(
            "token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A token of the client's own (16-256 visible characters), a developer's API key, or the \
                         operators' token.",
                    ))
                    .build(),
            ),
        );
        doc.security = Some(vec![
            SecurityRequirement::new("visitor", Vec::<String>::new()),
            SecurityRequirement::new("token", Vec::<String>::new()),
            SecurityRequirement::default(),
        ]);
        let retry_after = HeaderBuilder::new()
            .schema(ObjectBuilder::new().schema_type(Type::Integer))
            .description(Some("Seconds to wait before trying again."))
            .build();
        let error = |description: &str, retry: bool| {
            let mut response = ResponseBuilder::new().description(description).content(
                "application/json",
                ContentBuilder::new().schema(Some(Ref::from_schema_name("Error"))).build(),
            );
            if retry {
                response = response.header("Retry-After", retry_after.clone());
            }
            response.build()
        };
        for (path, item) in doc.paths.paths.iter_mut() {
            if !path.starts_with("/api/") {
                continue;
            }
            for operation in [&mut item.get, &mut item.post, &mut item.put].into_iter().flatten() {
                let responses: &mut Responses = &mut operation.responses;
                for (status, response) in [
                    ("401", error("A malformed bearer token, or an unknown API key", false)),
                    ("429", error("Over the client's request rate", true)),
                    ("503", error("The gateway is at its concurrency limit, or a backend is unavailable", true)),
                ] {
                    responses.responses.entry(status.to_owned()).or_insert(RefOr::T(response));
                }
            }
        }
    }
}

/// `POST /api/predictions` also takes PNG and JPEG files, up to `max_bytes`.
fn images(doc: &mut Document, max_bytes: usize) {
    let Some(operation) = doc.paths.paths.get_mut("/api/predictions").and_then(|item| item.post.as_mut()) else {
        return;
    };
    let body = operation.request_body.get_or_insert_with(RequestBody::new);
    body.required = Some(Required::True);
    body.description = Some(format!(
        "An encoded image (PNG or JPEG, at most {max_bytes} bytes and within the pixel limits), grey pixels as \
         JSON, or the model's 28x28 input itself as {MNIST_MEDIA_TYPE}: {MNIST_BYTES} bytes, row by row, ink \
         high (what the web app sends). Other bodies are at most {SMALL_BODY_BYTES} bytes."
    ));
    let binary = ObjectBuilder::new()
        .schema_type(Type::String)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Binary)))
        .max_length(Some(max_bytes))
        .build();
    for content_type in ["image/png", "image/jpeg"] {
        body.content.insert(content_type.to_owned(), ContentBuilder::new().schema(Some(binary.clone())).build());
    }
    let mnist = ObjectBuilder::new()
        .schema_type(Type::String)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Binary)))
        .min_length(Some(MNIST_BYTES))
        .max_length(Some(MNIST_BYTES))
        .build();
    body.content.insert(MNIST_MEDIA_TYPE.to_owned(), ContentBuilder::new().schema(Some(mnist)).build());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_is_documented_with_its_limits() {
        let config = Config { max_body_bytes: 12_345, ..Config::default() };
        let doc: serde_json::Value = serde_json::from_str(&json(&config)).expect("JSON");
        let paths = doc["paths"].as_object().expect("paths");
        for path in [
            "/api/predictions",
            "/api/predictions/{id}",
            "/api/predictions/{id}/feedback",
            "/api/stats",
            "/api/stats/global",
            "/api/model",
            "/api/model/page",
            "/api/model/files/{version}/{sha256}",
            "/api/admin/export",
            "/api/openapi.json",
            "/healthz",
            "/readyz",
        ] {
            assert!(paths.contains_key(path), "{path} is not documented");
        }
        let body = &doc["paths"]["/api/predictions"]["post"]["requestBody"]["content"];
        assert_eq!(body["image/png"]["schema"]["maxLength"], 12_345, "the configured body limit");
        let pixels = &doc["components"]["schemas"]["PixelImage"]["properties"];
        assert_eq!(pixels["width"]["maximum"], 4096);
        assert_eq!(pixels["pixels"]["maxItems"], 4_194_304);
        let prediction = &doc["components"]["schemas"]["Prediction"]["properties"];
        assert_eq!(prediction["input"]["maxItems"], 784);
        assert_eq!(prediction["digit"]["maximum"], 9);
        let list = &doc["paths"]["/api/predictions"]["get"];
        assert_eq!(list["responses"]["429"]["headers"]["Retry-After"]["schema"]["type"], "integer");
        let limit = list["parameters"].as_array().expect("parameters").iter().find(|p| p["name"] == "limit");
        assert_eq!(limit.expect("limit")["schema"]["maximum"], 500);
        assert_eq!(doc["components"]["securitySchemes"]["visitor"]["in"], "cookie");
        let links = &doc["paths"]["/api/predictions"]["post"]["responses"]["201"]["links"];
        assert_eq!(links["RecordFeedback"]["operationId"], "recordFeedback", "{links}");
    }
}
