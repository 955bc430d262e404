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

    /// The gRPC metadata the inference service sends beside its messages
    /// (described in `inference.proto`).
    pub mod metadata {
        /// On an error status: the [`ErrorKind`], by its stable name.
        pub const ERROR_CODE: &str = "digits-error-code";
        /// On every response: the name of the replica that answered.
        pub const REPLICA: &str = "digits-replica";

        /// What kind of error an inference status reports: the one contract
        /// between the inference service, which attaches it, and its
        /// clients (the gateway), which read it.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum ErrorKind {
            /// The drawing has (almost) no ink.
            EmptyDrawing,
            /// The drawing is a tap or a dot: no larger than its own stroke.
            TooSmall,
            /// The image has no pixels (0 wide or high).
            EmptyImage,
            /// The image is beyond the size limits.
            ImageTooLarge,
            /// The image cannot be decoded or is malformed.
            InvalidImage,
            /// Every worker is busy and the queue is full.
            Busy,
            /// The caller's deadline passed before the job ran.
            Expired,
            /// A bug or a failed worker.
            Internal,
            /// The call named a model version that is not served.
            UnknownVersion,
        }

        impl ErrorKind {
            const ALL: [Self; 9] = [
                Self::EmptyDrawing,
                Self::TooSmall,
                Self::EmptyImage,
                Self::ImageTooLarge,
                Self::InvalidImage,
                Self::Busy,
                Self::Expired,
                Self::Internal,
                Self::UnknownVersion,
            ];

            /// Its stable name on the wire.
            pub const fn as_str(self) -> &'static str {
                match self {
                    Self::EmptyDrawing => "empty_drawing",
                    Self::TooSmall => "too_small",
                    Self::EmptyImage => "empty_image",
                    Self::ImageTooLarge => "image_too_large",
                    Self::InvalidImage => "invalid_image",
                    Self::Busy => "busy",
                    Self::Expired => "expired",
                    Self::Internal => "internal",
                    Self::UnknownVersion => "unknown_version",
                }
            }

            /// Puts the kind on `status`.
            pub fn attach(self, status: &mut tonic::Status) {
                status.metadata_mut().insert(ERROR_CODE, tonic::metadata::MetadataValue::from_static(self.as_str()));
            }

            /// The kind `status` carries, if any.
            pub fn of(status: &tonic::Status) -> Option<Self> {
                let name = status.metadata().get(ERROR_CODE)?.to_str().ok()?;
                Self::ALL.into_iter().find(|kind| kind.as_str() == name)
            }
        }

        #[cfg(test)]
        mod tests {
            use super::ErrorKind;

            #[test]
            fn every_kind_survives_the_trip_through_a_status() {
                for kind in ErrorKind::ALL {
                    let mut status = tonic::Status::invalid_argument("x");
                    kind.attach(&mut status);
                    assert_eq!(ErrorKind::of(&status), Some(kind));
                }
                assert_eq!(ErrorKind::of(&tonic::Status::internal("no kind")), None);
            }
        }
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

/// `inference`: the Open Inference Protocol v2 (KServe, Triton), as far as
/// Digits serves it (see `oip/grpc_predict_v2.proto`).
#[allow(missing_docs, clippy::all)]
pub mod oip {
    tonic::include_proto!("inference");
}

/// The encoded `FileDescriptorSet` of every Digits proto, for server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/descriptors.bin"));
