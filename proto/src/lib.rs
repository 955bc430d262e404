//! The Digits gRPC APIs, generated from the `.proto` files in this folder.
//!
//! One crate generates the code once; every service and client depends on it.
//! [`FILE_DESCRIPTOR_SET`] feeds gRPC server reflection, so `grpcurl` works
//! without the proto files.

/// `digits.inference.v1`: handwritten-digit recognition.
pub mod inference {
    /// Version 1 of the inference API.
    #[allow(missing_docs, clippy::all)]
    pub mod v1 {
        tonic::include_proto!("digits.inference.v1");
    }
}

/// `digits.logging.v1`: predictions and feedback, stored.
pub mod logging {
    /// Version 1 of the logging API.
    #[allow(missing_docs, clippy::all)]
    pub mod v1 {
        tonic::include_proto!("digits.logging.v1");
    }
}

/// The encoded `FileDescriptorSet` of every Digits proto, for server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/descriptors.bin"));
