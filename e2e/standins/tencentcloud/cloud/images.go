package cloud

import (
	"fmt"
	"regexp"
)

// Image is one public image the stand-in's region offers.
type Image struct {
	ImageID     string
	ImageName   string
	CreatedTime string
	OsName      string
	ImageType   string
}

// images, newest first as the images data source returns them (cvm/data_source_tc_images.go sorts
// by CreatedTime, descending). Both boot the same test host; the second exists so that an image
// change (a reinstall in place) can be tried.
var images = []Image{
	{ImageID: "img-9qrfy1xt", ImageName: "Ubuntu Server 22.04 LTS 64bit UEFI", CreatedTime: "2025-06-12 10:21:44", OsName: "Ubuntu Server 22.04 LTS 64bit", ImageType: "PUBLIC_IMAGE"},
	{ImageID: "img-487zeit5", ImageName: "Ubuntu Server 22.04 LTS 64bit", CreatedTime: "2025-03-04 17:02:18", OsName: "Ubuntu Server 22.04 LTS 64bit", ImageType: "PUBLIC_IMAGE"},
}

// FindImage returns the image with the id, or nil.
func FindImage(id string) *Image {
	for i := range images {
		if images[i].ImageID == id {
			return &images[i]
		}
	}
	return nil
}

// Images answers the images data source (cvm/data_source_tc_images.go): image_id,
// image_name_regex (Go regexp on the name), image_type (list), os_name (substring of the OS name).
func Images(args Props) (Props, error) {
	var re *regexp.Regexp
	if s := str(args, "imageNameRegex"); s != "" {
		var err error
		if re, err = regexp.Compile(s); err != nil {
			return nil, fmt.Errorf("image_name_regex %q: %w", s, err)
		}
	}
	var types []string
	if l, ok := args["imageTypes"].([]any); ok {
		for _, t := range l {
			if s, ok := t.(string); ok {
				types = append(types, s)
			}
		}
	}
	var out []any
	for _, im := range images {
		if id := str(args, "imageId"); id != "" && id != im.ImageID {
			continue
		}
		if re != nil && !re.MatchString(im.ImageName) {
			continue
		}
		if len(types) > 0 && !contains(types, im.ImageType, false) {
			continue
		}
		if os := str(args, "osName"); os != "" && !regexp.MustCompile(regexp.QuoteMeta(os)).MatchString(im.OsName) {
			continue
		}
		out = append(out, map[string]any{
			"imageId": im.ImageID, "imageName": im.ImageName, "createdTime": im.CreatedTime,
			"osName": im.OsName, "imageType": im.ImageType, "architecture": "x86_64", "platform": "Ubuntu",
			"imageState": "NORMAL", "imageSize": float64(20), "imageSource": "OFFICIAL", "imageCreator": "",
			"imageDescription": im.ImageName, "isSupportCloudinit": true, "snapshots": []any{}, "syncPercent": float64(100),
		})
	}
	if out == nil {
		out = []any{}
	}
	res := Props{"id": "images", "images": out}
	for k, v := range args {
		res[k] = v
	}
	return res, nil
}
