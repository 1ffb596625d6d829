"""AES-CBC with PKCS#7, as Paytm's checksum and CCAvenue's encResp use it: one place for both.

`cryptography` is imported when a body is first checked, not when the
module loads: it costs every process about 6 MB, and only a deployment
with a Paytm or CCAvenue source ever needs it.
"""

from __future__ import annotations

BLOCK_BITS = 128


def encrypt(plain: bytes, key: bytes, iv: bytes) -> bytes:
    """Return plain padded with PKCS#7 and encrypted with AES-CBC under key and iv."""
    from cryptography.hazmat.primitives import padding
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    padder = padding.PKCS7(BLOCK_BITS).padder()
    padded = padder.update(plain) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    return encryptor.update(padded) + encryptor.finalize()


def decrypt_padded(ciphertext: bytes, key: bytes, iv: bytes) -> bytes:
    """Return the AES-CBC plaintext with its padding still on (a length not of whole blocks: ValueError)."""
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    decryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    return decryptor.update(ciphertext) + decryptor.finalize()


def unpad(padded: bytes) -> bytes:
    """Return a plaintext without its PKCS#7 padding; ValueError when the padding is wrong."""
    from cryptography.hazmat.primitives import padding

    unpadder = padding.PKCS7(BLOCK_BITS).unpadder()
    return unpadder.update(padded) + unpadder.finalize()


def decrypt(ciphertext: bytes, key: bytes, iv: bytes) -> bytes:
    """Return the plaintext of an AES-CBC, PKCS#7 ciphertext; ValueError when it does not open."""
    return unpad(decrypt_padded(ciphertext, key, iv))
