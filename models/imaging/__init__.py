"""The service's image pre-processing in numpy (gpu-service/src/imaging/), byte for byte: the
reference's letterbox matrix (cv2.getAffineTransform on float32 points) and OpenCV 4.6's
fixed-point bicubic warpAffine. Training uses it so that it learns on exactly what the service
feeds the network (test/python/test_letterbox_parity.py runs both on the same images)."""
from .affine import inverse_letterbox_matrix, letterbox_matrix
from .letterbox import letterbox_rgb
from .warp import warp_affine_cubic_u8, warp_affine_nearest_u8
from .warp_float import warp_affine_cubic_f32

__all__ = ["inverse_letterbox_matrix", "letterbox_matrix", "letterbox_rgb", "warp_affine_cubic_f32",
           "warp_affine_cubic_u8", "warp_affine_nearest_u8"]
