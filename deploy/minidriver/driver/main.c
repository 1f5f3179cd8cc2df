// SPDX-License-Identifier: GPL-2.0
/*
 * minidriver: a tiny kernel module standing in for the Falco driver in tests.
 * It does nothing but log on load and unload.
 */
#include <linux/init.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/moduleparam.h>

#include "driver_config.h"

static bool verbose;
module_param(verbose, bool, 0444);
MODULE_PARM_DESC(verbose, "Log more on load and unload");

static int __init minidriver_init(void)
{
	pr_info(DRIVER_NAME ": loaded, version " DRIVER_VERSION " commit '" DRIVER_COMMIT "'\n");
	if (verbose)
		pr_info(DRIVER_NAME ": device name " DRIVER_DEVICE_NAME "\n");
	return 0;
}

static void __exit minidriver_exit(void)
{
	if (verbose)
		pr_info(DRIVER_NAME ": unloading\n");
	pr_info(DRIVER_NAME ": unloaded\n");
}

module_init(minidriver_init);
module_exit(minidriver_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("dbg minidriver");
MODULE_DESCRIPTION("Miniature stand-in for the Falco kernel module (tests only)");
MODULE_VERSION(DRIVER_VERSION);
MODULE_INFO(build_commit, DRIVER_COMMIT);
