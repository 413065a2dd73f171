// SPDX-License-Identifier: GPL-2.0
/*
 * One Bento fs module (bento_fs.ko, bento_prov.ko): the fs's C++ code behind the bridge,
 * registered with the core module (bento_core.ko: the VFS glue), which registers the
 * file-system type BENTO_FSTYPE for it. A mount, or a live upgrade that moved a mount
 * here, holds a reference on this module: rmmod succeeds once no mount uses it.
 */
#include <linux/fs.h>
#include <linux/module.h>

#include "bridge.h"

static const struct bento_br_ops bento_this_fs = {
	.fstype = BENTO_FSTYPE,
	.owner = THIS_MODULE,
	.fs_name = bento_br_module_name,
	.dev_size = bento_br_dev_size,
	.mount = bento_br_mount,
	.unmount = bento_br_unmount,
	.syncfs = bento_br_syncfs,
	.lookup = bento_br_lookup,
	.forget = bento_br_forget,
	.getattr = bento_br_getattr,
	.setattr = bento_br_setattr,
	.readlink = bento_br_readlink,
	.mknod = bento_br_mknod,
	.mkdir = bento_br_mkdir,
	.symlink = bento_br_symlink,
	.link = bento_br_link,
	.unlink = bento_br_unlink,
	.rmdir = bento_br_rmdir,
	.rename = bento_br_rename,
	.create = bento_br_create,
	.open = bento_br_open,
	.release = bento_br_release,
	.read = bento_br_read,
	.write = bento_br_write,
	.fsync = bento_br_fsync,
	.fallocate = bento_br_fallocate,
	.readdir = bento_br_readdir,
	.statfs = bento_br_statfs,
	.setxattr = bento_br_setxattr,
	.getxattr = bento_br_getxattr,
	.listxattr = bento_br_listxattr,
	.removexattr = bento_br_removexattr,
	.caps = bento_br_caps,
	.lseek = bento_br_lseek,
	.fiemap = bento_br_fiemap,
	.getflags = bento_br_getflags,
	.setflags = bento_br_setflags,
	.tmpfile = bento_br_tmpfile,
	.prepare = bento_br_prepare,
	.start_from = bento_br_start_from,
	.resume = bento_br_resume,
	.retire = bento_br_retire,
	.state_free = bento_br_state_free,
};

static int __init bento_fs_init(void)
{
	return bento_register_fs(&bento_this_fs);
}

static void __exit bento_fs_exit(void)
{
	bento_unregister_fs(&bento_this_fs);
}

module_init(bento_fs_init);
module_exit(bento_fs_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Bento: a File Operations API file system (registered with bento_core)");
MODULE_ALIAS_FS(BENTO_FSTYPE);
MODULE_SOFTDEP("pre: bento_core");
