// SPDX-License-Identifier: GPL-2.0
/*
 * Shared writable mappings: the only dirty pages of the kernel host (write(2) goes
 * through to the fs, see file.c). A store into a MAP_SHARED mapping dirties the page
 * (filemap_page_mkwrite, through generic_file_vm_ops); ->writepages hands each dirty page
 * to the fs's write, the same call write(2) makes, so the fs journals mapped data like any
 * other. The fs writes through an open handle: the handles of the files mapped shared and
 * writable are listed on the inode, writeback uses the first one, and a handle leaves the
 * list only after the inode's dirty pages were written (release). Writeback holds the
 * inode's wb_rw shared; write-through, fallocate and truncation hold it exclusively around
 * their fs call and the page-cache update after it (a page taken for writeback before a
 * write(2) and written to the fs after it would undo the write). There is no
 * ->writepage, so memory reclaim never calls into the fs (the flusher, sync and fsync do).
 *
 * The writer the fs sees is root with the pid of the task that made the mapping: mapped
 * stores have no caller of their own (FUSE sends the flusher's identity).
 */
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/pagemap.h>
#include <linux/writeback.h>

#include "glue.h"

struct bento_wb {
	struct inode *inode;
	struct bento_file *bf;
	struct bento_br_req req;
};

/* One dirty page (locked, dirty bit cleared for I/O by write_cache_pages; 6.1 hands
 * pages, the folios are single pages: no large folios on this mapping). */
static int bento_write_folio(struct page *page, struct writeback_control *wbc, void *data)
{
	struct folio *folio = page_folio(page);
	struct bento_wb *wb = data;
	struct inode *inode = wb->inode;
	loff_t pos = folio_pos(folio), size = i_size_read(inode);
	size_t len;
	void *addr;
	long w;

	if (pos >= size) { /* truncated meanwhile: nothing left to write */
		folio_unlock(folio);
		return 0;
	}
	len = min_t(loff_t, folio_size(folio), size - pos);
	folio_start_writeback(folio);
	folio_unlock(folio);
	addr = kmap_local_folio(folio, 0);
	{
		BENTO_NOFS_BEGIN;
		w = bento_g_write(BENTO_FS(inode->i_sb), &wb->req, inode->i_ino, wb->bf->fh, pos,
				  addr, len);
		BENTO_NOFS_END;
	}
	kunmap_local(addr);
	if (w >= 0 && (size_t)w != len)
		w = -EIO;
	if (w < 0) {
		folio_set_error(folio);
		mapping_set_error(folio->mapping, w);
	}
	folio_end_writeback(folio);
	return w < 0 ? w : 0;
}

int bento_writepages(struct address_space *mapping, struct writeback_control *wbc)
{
	struct inode *inode = mapping->host;
	struct bento_inode_info *bi = BENTO_I(inode);
	struct bento_wb wb = { .inode = inode };
	int err;

	down_read(&bi->wb_rw);
	wb.bf = list_first_entry_or_null(&bi->wb_files, struct bento_file, wb_link);
	if (!wb.bf) {
		up_read(&bi->wb_rw);
		if (!mapping_tagged(mapping, PAGECACHE_TAG_DIRTY))
			return 0; /* the flusher, for pages truncated since */
		/* A bug: a page is dirtied only through a mapping whose file stays listed
		 * until its dirty pages are written. */
		WARN_ON_ONCE(1);
		return -EIO;
	}
	memset(&wb.req, 0, sizeof(wb.req));
	wb.req.pid = wb.bf->pid;
	wb.req.umask = 022;
	err = write_cache_pages(mapping, wbc, bento_write_folio, &wb);
	up_read(&bi->wb_rw);
	return err;
}

/* mmap: a shared mapping that may become writable lists its file for writeback. */
void bento_wb_add(struct file *file)
{
	struct bento_inode_info *bi = BENTO_I(file_inode(file));
	struct bento_file *bf = file->private_data;

	down_write(&bi->wb_rw);
	if (!bf->wb_listed) {
		bf->pid = task_tgid_nr(current);
		list_add_tail(&bf->wb_link, &bi->wb_files);
		bf->wb_listed = true;
	}
	up_write(&bi->wb_rw);
}

/* release: the inode's dirty pages are written (through any listed handle, this one
 * included) before the handle leaves the list and is released in the fs. */
int bento_wb_remove(struct file *file)
{
	struct inode *inode = file_inode(file);
	struct bento_inode_info *bi = BENTO_I(inode);
	struct bento_file *bf = file->private_data;
	int err;

	if (!bf->wb_listed)
		return 0;
	err = filemap_write_and_wait(inode->i_mapping);
	down_write(&bi->wb_rw);
	list_del(&bf->wb_link);
	bf->wb_listed = false;
	up_write(&bi->wb_rw);
	return err;
}
