//! Leaving tract's vector code cleanly.
//!
//! tract's matrix kernels are hand-written AVX-512 and return without
//! `vzeroupper`, so the upper halves of the vector registers stay "dirty" on
//! the thread that ran them. Rust code compiled for baseline x86-64 uses the
//! older SSE encoding, and on a thread in that state each of its vector
//! instructions waits on the dirty upper halves: on the 2-core EPYC this was
//! measured on, preprocessing a 280x280 canvas after a model run took 478 µs
//! instead of 176 µs. An engine worker decodes and preprocesses its next
//! images on the thread that just ran the model, so the state is cleared
//! after every run.

/// Zeroes the upper halves of the vector registers, when the CPU has them.
pub(crate) fn clear_upper_halves() {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx") {
        // SAFETY: the CPU supports AVX, checked just above. `vzeroupper`
        // only zeroes bits 128 and up of the vector registers, which the
        // compiler never keeps a value in across this call.
        #[allow(unsafe_code)]
        unsafe {
            std::arch::x86_64::_mm256_zeroupper();
        }
    }
}
