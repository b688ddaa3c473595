//! One llama.cpp sampler chain per request, built from its [`SamplingParams`].
//!
//! Each reply owns its chain because the chain has state (the repetition window, the random
//! generator seeded per request): sharing one across rooms would make a room's reply depend
//! on what the others generated.

use llama_cpp_2::sampling::LlamaSampler;

use crate::engine::types::SamplingParams;

/// Builds the chain in llama.cpp's usual order: penalties, truncation (top-k, top-p, min-p),
/// temperature, then the final choice (greedy or seeded random).
pub(crate) fn build_sampler(params: &SamplingParams, n_vocab: i32) -> LlamaSampler {
    let mut chain = Vec::new();
    if params.repeat_last_n > 0 && (params.repeat_penalty - 1.0).abs() > f32::EPSILON {
        chain.push(LlamaSampler::penalties(
            n_vocab,
            params.repeat_last_n.min(i32::MAX as u32) as i32,
            params.repeat_penalty.max(0.01),
            0.0,
            0.0,
        ));
    }
    if params.is_greedy() {
        chain.push(LlamaSampler::greedy());
    } else {
        if params.top_k > 0 {
            chain.push(LlamaSampler::top_k(params.top_k.min(i32::MAX as u32) as i32));
        }
        if params.top_p > 0.0 && params.top_p < 1.0 {
            chain.push(LlamaSampler::top_p(params.top_p, 1));
        }
        if params.min_p > 0.0 {
            chain.push(LlamaSampler::min_p(params.min_p, 1));
        }
        chain.push(LlamaSampler::temp(params.temperature));
        chain.push(LlamaSampler::dist(params.seed));
    }
    LlamaSampler::chain_simple(chain)
}
