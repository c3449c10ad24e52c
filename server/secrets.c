/*
 * Secrets at rest: ext-client private keys that the server generated are
 * stored sealed with libsodium's secretbox under a master key. The master
 * key lives in DATADIR/master.key (32 random bytes, mode 0600), created on
 * first start, and in memory only in sodium_malloc'd (guarded, locked) pages.
 */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "server.h"

static int read_exact(int fd, unsigned char *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, buf + got, len - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -EIO;
		got += (size_t)n;
	}
	return 0;
}

int secrets_init(struct server *srv)
{
	char path[PATH_MAX + 16];
	unsigned char key[crypto_secretbox_KEYBYTES];
	struct stat sb;
	int fd, ret = 0;

	snprintf(path, sizeof(path), "%s/master.key", srv->data_dir);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd >= 0) {
		if (fstat(fd, &sb) < 0 || (sb.st_mode & 077)) {
			log_warnx("%s must be a private file (mode 0600)", path);
			ret = -EPERM;
		} else if (sb.st_size != sizeof(key) || read_exact(fd, key, sizeof(key)) < 0) {
			log_warnx("%s is damaged: expected %zu bytes", path, sizeof(key));
			ret = -EIO;
		}
		close(fd);
	} else if (errno == ENOENT) {
		randombytes_buf(key, sizeof(key));
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0 || write(fd, key, sizeof(key)) != (ssize_t)sizeof(key) || fsync(fd) < 0)
			ret = -errno ? -errno : -EIO;
		if (fd >= 0)
			close(fd);
		if (ret == 0)
			log_info("created the master key %s", path);
	} else {
		ret = -errno;
	}
	if (ret == 0) {
		srv->master_key = sodium_malloc(sizeof(key));
		if (!srv->master_key)
			ret = -ENOMEM;
		else
			memcpy(srv->master_key, key, sizeof(key));
	}
	sodium_memzero(key, sizeof(key));
	return ret;
}

void secrets_free(struct server *srv)
{
	sodium_free(srv->master_key);
	srv->master_key = NULL;
}

char *secret_seal(const struct server *srv, const char *plaintext)
{
	size_t mlen = strlen(plaintext), blen = crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + mlen;
	unsigned char *box = malloc(blen);
	size_t b64len = sodium_base64_ENCODED_LEN(blen, sodium_base64_VARIANT_ORIGINAL);
	char *out = malloc(b64len);

	if (!box || !out || !srv->master_key) {
		free(box);
		free(out);
		return NULL;
	}
	randombytes_buf(box, crypto_secretbox_NONCEBYTES);
	crypto_secretbox_easy(box + crypto_secretbox_NONCEBYTES, (const unsigned char *)plaintext, mlen, box,
			      srv->master_key);
	sodium_bin2base64(out, b64len, box, blen, sodium_base64_VARIANT_ORIGINAL);
	free(box);
	return out;
}

char *secret_open(const struct server *srv, const char *sealed)
{
	size_t slen = strlen(sealed), blen;
	unsigned char *box = malloc(slen + 1);
	char *out = NULL;

	if (!box || !srv->master_key)
		goto out;
	if (sodium_base642bin(box, slen, sealed, slen, NULL, &blen, NULL, sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    blen < crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES)
		goto out;
	out = malloc(blen - crypto_secretbox_NONCEBYTES - crypto_secretbox_MACBYTES + 1);
	if (!out)
		goto out;
	if (crypto_secretbox_open_easy((unsigned char *)out, box + crypto_secretbox_NONCEBYTES,
				       blen - crypto_secretbox_NONCEBYTES, box, srv->master_key) != 0) {
		free(out);
		out = NULL;
		goto out;
	}
	out[blen - crypto_secretbox_NONCEBYTES - crypto_secretbox_MACBYTES] = '\0';
out:
	free(box);
	return out;
}
