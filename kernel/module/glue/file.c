// SPDX-License-Identifier: GPL-2.0
/*
 * Files: open/release, read and write, fsync, fallocate, mmap.
 *
 * Page cache choice: reads go through the page cache (generic_file_read_iter; readahead
 * asks the fs for the whole window in one read, read_folio for one page), so cached
 * reads, mmap and exec work as on any kernel fs. Writes go straight to the fs (write-through, like FUSE without writeback
 * cache): the fs journals data itself (data journaling), so a write it acknowledged is in
 * its journal, and syncfs/fsync are one journal commit with no dirty pages to chase. The
 * written range's cached pages are dropped afterwards so later reads see the new bytes.
 * Shared writable mappings dirty pages, which writeback.c hands to the same fs write; so
 * every path that goes to the fs around the page cache (write, O_DIRECT read, fallocate,
 * truncate, fsync, SEEK_DATA) writes the dirty pages of its range first. Files the fs
 * opens with direct_io (its provenance log) and O_DIRECT opens bypass the cache for reads
 * too.
 */
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/pagemap.h>
#include <linux/slab.h>
#include <linux/uio.h>
#include <linux/writeback.h>

#include "glue.h"

#define BENTO_IO_CHUNK (1024 * 1024)

int bento_open_common(struct inode *inode, struct file *file, bool dir)
{
	struct bento_br_openrep o;
	struct bento_file *bf;
	struct bento_req q;
	unsigned int flags = file->f_flags & ~(O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC);
	int err;

	bf = kzalloc(sizeof(*bf), GFP_KERNEL);
	if (!bf)
		return -ENOMEM;
	bento_make_req(&q);
	err = BENTO_NOFS_CALL(bento_g_open(BENTO_FS(inode->i_sb), &q.r, inode->i_ino, flags, dir, &o));
	if (err) {
		kfree(bf);
		return err;
	}
	bento_file_opened(file, bf, &o, flags);
	if (o.nonseekable)
		nonseekable_open(inode, file);
	return 0;
}

static int bento_open(struct inode *inode, struct file *file)
{
	int err = generic_file_open(inode, file);

	if (err)
		return err;
	err = bento_open_common(inode, file, false);
	if (err)
		return err;
	/* A file changed by this mount only: the cached pages stay valid across opens,
	 * except for files the fs serves uncached. */
	if (((struct bento_file *)file->private_data)->direct_io)
		invalidate_inode_pages2(inode->i_mapping);
	return 0;
}

static int bento_release(struct inode *inode, struct file *file)
{
	struct bento_file *bf = file->private_data;
	struct bento_req q;

	if (!bf)
		return 0;
	bento_wb_remove(file); /* errors stay recorded in the mapping for fsync */
	bento_make_req(&q);
	{
		BENTO_NOFS_BEGIN;
		bento_g_release(BENTO_FS(inode->i_sb), &q.r, inode->i_ino, bf->fh, bf->flags,
				 S_ISDIR(inode->i_mode));
		BENTO_NOFS_END;
	}
	kfree(bf);
	return 0;
}

static u64 fh_of(struct file *file)
{
	struct bento_file *bf = file ? file->private_data : NULL;

	return bf ? bf->fh : 0;
}

/* Reads the fs directly into the iterator through a bounce buffer. */
static ssize_t bento_direct_read(struct kiocb *iocb, struct iov_iter *to)
{
	struct file *file = iocb->ki_filp;
	struct inode *inode = file_inode(file);
	size_t want = iov_iter_count(to);
	size_t cap = min_t(size_t, want, BENTO_IO_CHUNK);
	struct bento_req q;
	ssize_t done = 0;
	void *buf;

	if (!want)
		return 0;
	done = filemap_write_and_wait_range(inode->i_mapping, iocb->ki_pos, iocb->ki_pos + want - 1);
	if (done)
		return done;
	buf = kvmalloc(cap, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	bento_make_req(&q);
	while (iov_iter_count(to) > 0) {
		size_t n = min_t(size_t, iov_iter_count(to), cap);
		long r;

		{
			BENTO_NOFS_BEGIN;
			r = bento_g_read(BENTO_FS(inode->i_sb), &q.r, inode->i_ino, fh_of(file),
					  iocb->ki_pos, buf, n);
			BENTO_NOFS_END;
		}
		if (r < 0) {
			if (!done)
				done = r;
			break;
		}
		if (r == 0)
			break;
		if (copy_to_iter(buf, r, to) != r) {
			if (!done)
				done = -EFAULT;
			break;
		}
		iocb->ki_pos += r;
		done += r;
		if ((size_t)r < n)
			break;
	}
	kvfree(buf);
	return done;
}

static ssize_t bento_read_iter(struct kiocb *iocb, struct iov_iter *to)
{
	struct bento_file *bf = iocb->ki_filp->private_data;

	if ((bf && bf->direct_io) || (iocb->ki_flags & IOCB_DIRECT)) {
		ssize_t r = bento_direct_read(iocb, to);

		if (r >= 0 && bf && bf->direct_io)
			bento_refresh(file_inode(iocb->ki_filp));
		return r;
	}
	return generic_file_read_iter(iocb, to);
}

/* After a write-through of len bytes at pos: the range's cached pages are dropped. A page
 * dirtied meanwhile through a shared mapping cannot be (nor one under writeback): it gets
 * the written bytes instead, so it matches the fs again apart from its own unwritten
 * stores, which writeback then adds. Pages are single-page folios on this mapping. */
static void bento_written(struct address_space *mapping, loff_t pos, const char *buf, size_t len)
{
	pgoff_t idx = pos >> PAGE_SHIFT, last = (pos + len - 1) >> PAGE_SHIFT;

	if (!invalidate_inode_pages2_range(mapping, idx, last))
		return;
	for (; idx <= last; idx++) {
		struct folio *folio = filemap_lock_folio(mapping, idx);
		loff_t fpos, from, to;

		if (!folio)
			continue;
		fpos = folio_pos(folio);
		from = max_t(loff_t, pos, fpos);
		to = min_t(loff_t, pos + len, fpos + PAGE_SIZE);
		if (folio_test_uptodate(folio) && from < to) {
			char *addr = kmap_local_folio(folio, 0);

			memcpy(addr + (from - fpos), buf + (from - pos), to - from);
			kunmap_local(addr);
			flush_dcache_folio(folio);
		}
		folio_unlock(folio);
		folio_put(folio);
	}
}

static ssize_t bento_write_iter(struct kiocb *iocb, struct iov_iter *from)
{
	struct file *file = iocb->ki_filp;
	struct inode *inode = file_inode(file);
	ssize_t done = 0, err;
	size_t cap;
	struct bento_req q;
	void *buf;

	inode_lock(inode);
	err = generic_write_checks(iocb, from);
	if (err <= 0)
		goto out_unlock;
	err = file_remove_privs(file);
	if (err)
		goto out_unlock;
	/* Mapped stores in this range go to the fs first, so this write's bytes land after
	 * them (stores made during the write: bento_written). */
	err = filemap_write_and_wait_range(inode->i_mapping, iocb->ki_pos,
					   iocb->ki_pos + iov_iter_count(from) - 1);
	if (err)
		goto out_unlock;
	cap = min_t(size_t, iov_iter_count(from), BENTO_IO_CHUNK);
	buf = kvmalloc(cap, GFP_KERNEL);
	err = -ENOMEM;
	if (!buf)
		goto out_unlock;
	bento_make_req(&q);
	while (iov_iter_count(from) > 0) {
		size_t n = min_t(size_t, iov_iter_count(from), cap);
		long w;

		if (copy_from_iter(buf, n, from) != n) {
			if (!done)
				done = -EFAULT;
			break;
		}
		down_write(&BENTO_I(inode)->wb_rw);
		{
			BENTO_NOFS_BEGIN;
			w = bento_g_write(BENTO_FS(inode->i_sb), &q.r, inode->i_ino, fh_of(file),
					   iocb->ki_pos, buf, n);
			BENTO_NOFS_END;
		}
		if (w > 0)
			bento_written(inode->i_mapping, iocb->ki_pos, buf, w);
		up_write(&BENTO_I(inode)->wb_rw);
		if (w < 0) {
			if (!done)
				done = w;
			break;
		}
		iocb->ki_pos += w;
		done += w;
		if ((size_t)w < n) {
			iov_iter_revert(from, n - w);
			break;
		}
	}
	kvfree(buf);
	if (done > 0) {
		/* O_APPEND: the fs appended at its own end of file; i_size says where. */
		bento_refresh(inode);
		if (iocb->ki_flags & IOCB_APPEND)
			iocb->ki_pos = i_size_read(inode);
	}
	err = done;
out_unlock:
	inode_unlock(inode);
	if (err > 0)
		err = generic_write_sync(iocb, err);
	return err;
}

static int bento_fsync(struct file *file, loff_t start, loff_t end, int datasync)
{
	struct inode *inode = file_inode(file);
	struct bento_req q;
	int err;

	err = file_write_and_wait_range(file, start, end);
	if (err)
		return err;
	bento_make_req(&q);
	{
		BENTO_NOFS_BEGIN;
		err = bento_g_fsync(BENTO_FS(inode->i_sb), &q.r, inode->i_ino, fh_of(file),
				     datasync, S_ISDIR(inode->i_mode));
		BENTO_NOFS_END;
	}
	return err;
}

static long bento_fallocate(struct file *file, int mode, loff_t off, loff_t len)
{
	struct inode *inode = file_inode(file);
	struct bento_req q;
	int err;

	inode_lock(inode);
	err = filemap_write_and_wait(inode->i_mapping);
	if (err)
		goto out;
	bento_make_req(&q);
	down_write(&BENTO_I(inode)->wb_rw);
	{
		BENTO_NOFS_BEGIN;
		err = bento_g_fallocate(BENTO_FS(inode->i_sb), &q.r, inode->i_ino, fh_of(file),
					 mode, off, len);
		BENTO_NOFS_END;
	}
	if (!err) {
		invalidate_inode_pages2(inode->i_mapping);
		bento_refresh(inode);
	}
	up_write(&BENTO_I(inode)->wb_rw);
out:
	inode_unlock(inode);
	return err;
}

/* generic_file_vm_ops: filemap_fault, and filemap_page_mkwrite dirties a page on the
 * first store. A shared mapping that may become writable lists its handle for writeback
 * (writeback.c), except where the fs could not write a page back through it: an O_APPEND
 * handle writes at the end of file, and a direct_io file has no page cache the fs sees. */
static int bento_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct bento_file *bf = file->private_data;

	if ((vma->vm_flags & VM_SHARED) && (vma->vm_flags & VM_MAYWRITE)) {
		if (!bf || (bf->flags & O_APPEND) || bf->direct_io) {
			if (vma->vm_flags & VM_WRITE)
				return -EINVAL;
			vma->vm_flags &= ~VM_MAYWRITE;
		} else {
			bento_wb_add(file);
		}
	}
	return generic_file_mmap(file, vma);
}

/* One page from the fs; past the end of file it reads as zeroes. */
static int bento_read_folio(struct file *file, struct folio *folio)
{
	struct inode *inode = folio->mapping->host;
	struct page *page = &folio->page;
	loff_t pos = page_offset(page);
	struct bento_req q;
	void *addr;
	long r;

	bento_make_req(&q);
	addr = kmap_local_page(page);
	{
		BENTO_NOFS_BEGIN;
		r = bento_g_read(BENTO_FS(inode->i_sb), &q.r, inode->i_ino, fh_of(file), pos, addr,
				  PAGE_SIZE);
		BENTO_NOFS_END;
	}
	if (r >= 0 && r < PAGE_SIZE)
		memset((char *)addr + r, 0, PAGE_SIZE - r);
	kunmap_local(addr);
	if (r >= 0) {
		flush_dcache_page(page);
		SetPageUptodate(page);
	} else {
		SetPageError(page);
	}
	unlock_page(page);
	return r < 0 ? r : 0;
}

/* Readahead: the whole window in one fs read, then copied into its pages. */
static void bento_readahead(struct readahead_control *rac)
{
	struct inode *inode = rac->mapping->host;
	loff_t start = readahead_pos(rac);
	size_t len = readahead_length(rac);
	struct folio *folio;
	struct bento_req q;
	char *buf;
	long r;

	buf = kvmalloc(len, GFP_KERNEL);
	if (!buf)
		return; /* the pages left are read one by one through read_folio */
	bento_make_req(&q);
	{
		BENTO_NOFS_BEGIN;
		r = bento_g_read(BENTO_FS(inode->i_sb), &q.r, inode->i_ino, fh_of(rac->file), start,
				  buf, len);
		BENTO_NOFS_END;
	}
	while ((folio = readahead_folio(rac)) != NULL) {
		size_t off = folio_pos(folio) - start, n = folio_size(folio);
		void *addr;

		if (r < 0) {
			folio_set_error(folio);
			folio_unlock(folio);
			continue;
		}
		addr = kmap_local_folio(folio, 0);
		if (off < (size_t)r)
			memcpy(addr, buf + off, min_t(size_t, n, r - off));
		if (off + n > (size_t)r)
			memset((char *)addr + (off < (size_t)r ? r - off : 0), 0,
			       n - (off < (size_t)r ? r - off : 0));
		kunmap_local(addr);
		flush_dcache_folio(folio);
		folio_mark_uptodate(folio);
		folio_unlock(folio);
	}
	kvfree(buf);
}

const struct address_space_operations bento_aops = {
	.read_folio = bento_read_folio,
	.readahead = bento_readahead,
	.dirty_folio = filemap_dirty_folio,
	.writepages = bento_writepages,
	.direct_IO = noop_direct_IO,
};

const struct file_operations bento_file_fops = {
	.llseek = bento_llseek,
	.read_iter = bento_read_iter,
	.write_iter = bento_write_iter,
	.mmap = bento_mmap,
	.open = bento_open,
	.release = bento_release,
	.fsync = bento_fsync,
	.fallocate = bento_fallocate,
	.unlocked_ioctl = bento_file_ioctl,
	.splice_read = generic_file_splice_read,
	.splice_write = iter_file_splice_write,
};
