# Copyright (c) mmbas contributors. All rights reserved.
